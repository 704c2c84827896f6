"""The clinical workflow's blueprints and menu entries, registered by `create_app` in one call."""

from __future__ import annotations

from flask import Flask

from common.web import add_nav


def register(app: Flask) -> None:
    from edge.crew.clinic import bp as pages_bp
    from edge.diagnosis.routes import bp as diagnoses_bp
    from edge.note.routes import bp as notes_bp
    from edge.patient.routes import bp as patients_bp
    from edge.prescription.routes import bp as prescriptions_bp
    from edge.referral.routes import bp as referrals_bp
    from edge.visit.routes import bp as visits_bp
    from edge.vital.routes import bp as vitals_bp

    for blueprint in (
        patients_bp,
        visits_bp,
        vitals_bp,
        notes_bp,
        diagnoses_bp,
        prescriptions_bp,
        referrals_bp,
        pages_bp,
    ):
        app.register_blueprint(blueprint)
    add_nav(app, "Queue", "clinic_pages.queue", "visits:read")
    add_nav(app, "Patients", "clinic_pages.patients_page", "patients:read")
    add_nav(app, "Claims", "clinic_pages.claims_page", "visits:read")
