"""What the tests share, so no test module imports another and no record is made two ways.

- constants: the settings and data every test runs with (WeChat token and keys, the roster, passwords).
- http: serving an app (or a fake API) over real loopback HTTP, and stopping it without a wait.
- chat: the dialog driver, a signing WeChat user and the steps of a repair.
- wechat_api: what the faked WeChat API was asked, and how it answers.
- jobs: running queued RQ jobs and releasing scheduled ones.
- cli: running `repairbot` against the test database and Redis.
- database: emptying the database between tests and seeding it with the register and roster.
- tickets, consults, people: one factory per record (tickets; consults; staff and residents).
- console: the staff console driven over Flask's test client, or logged into in a real browser.

conftest.py keeps the fixtures; the fixtures build on these helpers.
"""
