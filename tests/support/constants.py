"""The settings and data every test runs with, in one place: the WeChat account, the roster, the register.

Fixtures (conftest.py) and helpers use these; a test module that needs one imports it from here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The school's register: the shared copy next to the repository when there is one, else the bundled one.
REGISTER_FILES = (ROOT.parent / "shared/data/register.yaml", ROOT / "bot/data/register.yaml")
REGISTER_FILE = next(p for p in REGISTER_FILES if p.exists())
ROSTER = """card_no,name,id_last6,role,phone
20260001,张三,12345X,student,13800000001
20260002,李四,234567,student,13800000002
20260003,王五,34567x,student,
"""

# The WeChat account the app is configured with (safe mode uses the AES key and the appid).
TOKEN = "test-token"
API = "https://api.weixin.qq.com/cgi-bin/"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"
APP_SECRET = "test-app-secret"
SECRET_KEY = "test-secret"
# One pepper for every test: the seeded roster's hashes are copied from test to test (tests/support/database.py).
ID_PEPPER = "test-id-pepper"
PUBLIC_URL = "https://repair.example.edu"

# The console's staff all log in with this password (tests/support/people.py).
PASSWORD = "console-pass-1"

# Repair categories and consult departments of the register, as the staff seeds name them.
DORM = "东环校区宿舍维修"
JIANPAN = "箭盘校区维修"
FOOD = "饮食服务中心"
ESTATE = "物业管理中心"
DORMS = "公寓管理中心"
