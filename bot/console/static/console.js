// Canned replies: choosing one fills the note or reply field it belongs to (typing still works).
document.addEventListener("change", function (ev) {
  var sel = ev.target;
  if (!sel.classList || !sel.classList.contains("canned") || !sel.value) return;
  var field = document.getElementById(sel.dataset.target);
  if (field) { field.value = sel.value; field.focus(); }
  sel.value = "";
});

// The queue refreshes itself: every few seconds it asks the server whether anything changed (a small JSON
// answer when nothing did) and swaps in the new rows and counts.  Tickets filed since the page was loaded
// are counted in a badge and in the tab's title; a short tone for them is off until the dispatcher turns it on
// (remembered in this browser).
(function () {
  var box = document.getElementById("queue");
  if (!box || !window.fetch || !window.URLSearchParams) return;
  var SOUND_KEY = "repairbot.queue.sound";
  var every = Math.max(1, parseInt(box.dataset.pollS, 10) || 12) * 1000;
  var since = box.dataset.since, version = box.dataset.version;
  var title = document.title, heard = 0, audio = null;
  var badge = document.getElementById("fresh-count");
  var toggle = document.getElementById("sound-toggle");

  function remembered() {
    try { return localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }
  function remember(on) {
    try { localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode: this page only */ }
  }
  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume();
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.35);
  }
  if (toggle) {
    toggle.checked = remembered();
    toggle.addEventListener("change", function () {
      remember(toggle.checked);
      if (toggle.checked) beep();
    });
  }

  function showNew(n) {
    badge.hidden = !n;
    badge.querySelector("b").textContent = n;
    document.title = n ? "(" + n + ") " + title : title;
    if (n > heard && toggle && toggle.checked) beep();
    heard = n;
  }
  function showRows(data) {
    document.getElementById("queue-rows").innerHTML = data.rows;
    var empty = !data.rows.trim();
    document.querySelector("table.queue").hidden = empty;
    document.getElementById("queue-empty").hidden = !empty;
    document.getElementById("queue-total").textContent = data.total;
    document.querySelectorAll("[data-count]").forEach(function (b) {
      b.textContent = data.counts[b.dataset.count] || 0;
    });
  }
  function poll() {
    var q = new URLSearchParams(location.search);
    q.set("since", since);
    q.set("v", version);
    fetch(box.dataset.poll + "?" + q.toString(), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) {
        if (r.redirected) { location.reload(); throw new Error("signed out"); }  // the login page
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        if (!data.same) { version = data.version; showRows(data); }
        showNew(data.new);
        setTimeout(poll, every);
      })
      .catch(function () { setTimeout(poll, every * 2); });  // a network blip: try again, a little later
  }
  setTimeout(poll, every);
})();
