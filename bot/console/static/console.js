// Canned replies: choosing one fills the note or reply field it belongs to (typing still works).
document.addEventListener("change", function (ev) {
  var sel = ev.target;
  if (!sel.classList || !sel.classList.contains("canned") || !sel.value) return;
  var field = document.getElementById(sel.dataset.target);
  if (field) { field.value = sel.value; field.focus(); }
  sel.value = "";
});
