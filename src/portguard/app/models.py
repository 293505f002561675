"""Imports every module that declares tables, so ``Base.metadata`` is complete for Alembic."""

from portguard.access import models as access_models
from portguard.core import audit, auth
from portguard.core.db import Base
from portguard.incidents import models as incident_models
from portguard.intel import models as intel_models
from portguard.mail import models as mail_models
from portguard.maritime import models as maritime_models
from portguard.portmodel import models as portmodel_models

__all__ = [
    "Base",
    "access_models",
    "audit",
    "auth",
    "incident_models",
    "intel_models",
    "mail_models",
    "maritime_models",
    "portmodel_models",
]
