"""The database tables (SQLModel) and the API schemas built on them, one module per resource:
``XBase`` (shared fields), ``XCreate``/``XUpdate`` (requests), ``X`` (the table), ``XPublic`` (answers).

Import names from the resource's module (``from service.models.cases import Case``). Importing this
package registers every table on ``SQLModel.metadata`` (Alembic reads it).
"""

from service.models import (
    base,
    batches,
    cameras,
    campaign,
    cases,
    chain,
    hotspots,
    observations,
    operations,
    patrols,
    plans,
    signs,
    users,
    webhooks,
)

__all__ = [
    "base",
    "batches",
    "cameras",
    "campaign",
    "cases",
    "chain",
    "hotspots",
    "observations",
    "operations",
    "patrols",
    "plans",
    "signs",
    "users",
    "webhooks",
]
