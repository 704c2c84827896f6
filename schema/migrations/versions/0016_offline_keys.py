"""keys two laptops of one vehicle make offline cannot collide at the hub: an asset's
serial number is unique per vehicle (equipment moves between vehicles), and one open visit
per patient per day is kept per laptop (the hub alerts the vehicle when two laptops each
opened one); lots, assets and suppliers get ids named by their keys (no schema change)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:30:00
"""

from collections.abc import Sequence

from alembic import op

import schema
from sync import capture

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_constraint("uq_asset_serial_number", type_="unique")
        batch_op.create_unique_constraint(
            "uq_asset_vehicle_id_serial_number", ["vehicle_id", "serial_number"]
        )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint("uq_visit_vehicle_id_patient_id_open_day", type_="unique")
        batch_op.create_unique_constraint(
            "uq_visit_vehicle_id_patient_id_open_day_origin_node",
            ["vehicle_id", "patient_id", "open_day", "origin_node"],
        )
    _recapture()


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_visit_vehicle_id_patient_id_open_day_origin_node", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_visit_vehicle_id_patient_id_open_day", ["vehicle_id", "patient_id", "open_day"]
        )
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_constraint("uq_asset_vehicle_id_serial_number", type_="unique")
        batch_op.create_unique_constraint("uq_asset_serial_number", ["serial_number"])
    _recapture()


def _recapture() -> None:
    """SQLite rebuilds a table to change its constraints, and its triggers go with it."""
    tables = schema.metadata.tables
    capture.install(op.get_bind(), [tables["asset"], tables["visit"]])
