import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sheshi.settings.prod")
# The web tier always connects as the web role, whatever it inherited: the all-organisations scope
# is the jobs role's (SECURITY.md, sheshi/env.py::app_database_config).
os.environ["SHESHI_DB_AS"] = "web"
application = get_wsgi_application()
