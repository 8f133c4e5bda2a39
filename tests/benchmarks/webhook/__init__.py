"""Load test of the webhook: many signed WeChat users walking whole repair dialogs.

Run it from the project root with ``.venv/bin/python -m tests.benchmarks.webhook [options]``
(``--help`` lists them; ``tests/benchmarks/README.md`` says what each phase measures).

What it does, every run:

1. Setup (not measured, ``stores``): drops and recreates the PostgreSQL database
   ``repairbot_bench``, runs the migrations, loads ``bot/data/register.yaml``,
   a generated roster of ``--users`` people and binds one openid to each
   (directly, with the model functions); flushes Redis db 14.  It never touches
   the ``test`` database or Redis db 15 that the test suite uses.
2. For each ``--workers`` count (``phases``): starts ``gunicorn -c deploy/gunicorn.conf.py
   bot.wsgi:app`` on a free loopback port (``servers``; WeChat's API base points at a dead
   loopback port, so nothing leaves the machine), waits for /healthz, and plays
   the users (``users``, ``script``) through whole dialogs with the load generator
   (``load``).  Every message is signed as WeChat signs it, has a unique MsgId,
   and a user sends its next message only after the reply to the last one,
   which must be a 200 carrying the expected next prompt (anything else is an
   error).  ``--concurrency`` requests are in flight at any time, each for a
   different user of the population.
3. In the same run, with the same gunicorn settings and the same load
   generator and concurrency, the bare wechatpy echo server
   (``tests/benchmarks/echo_app.py``) as the yardstick.
4. Prints one summary line per configuration (``report``) and exits 1 if the best one
   misses the bar (>= 800 dialog msg/s, p99 < 50 ms, no errors).

The CPU of the generator, gunicorn, Redis, PostgreSQL and other programs is accounted over
each window (``machine``), so the figures can be judged on a small shared machine.
``--profile`` adds runs of one gunicorn worker under the same dialog load with cProfile or a
SIGPROF sampler inside the worker (``profiling``, read back by ``profile_report``).
"""
