"""Imports every capability's ORM models so that metadata and Alembic see all tables."""

from fullpicture.access import models as access_models
from fullpicture.agencies import models as agencies_models
from fullpicture.chronology import models as chronology_models
from fullpicture.harm import models as harm_models
from fullpicture.imports import models as imports_models
from fullpicture.linkage import models as linkage_models
from fullpicture.people import models as people_models
from fullpicture.referrals import models as referrals_models
from fullpicture.sharing import models as sharing_models

__all__ = [
    "access_models",
    "agencies_models",
    "chronology_models",
    "harm_models",
    "imports_models",
    "linkage_models",
    "people_models",
    "referrals_models",
    "sharing_models",
]
