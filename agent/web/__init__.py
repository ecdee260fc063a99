"""The supervisor web view of usage reports (``dlp-agent serve-reports``).

``users`` (credentials file, scrypt hashes), ``sessions`` (logins, throttling), ``audit``
(JSON-lines audit log), ``pages`` (HTML), ``server`` (HTTP, access decisions).
"""

from agent.web.audit import AuditLog
from agent.web.server import ReportApp, ReportServer, allowed_hosts
from agent.web.users import ReportUsersFile, hash_password, load_users, verify_password

__all__ = ["AuditLog", "ReportApp", "ReportServer", "ReportUsersFile", "allowed_hosts",
           "hash_password", "load_users", "verify_password"]
