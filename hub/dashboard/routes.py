"""Head office's pages, and the wiring of the head-office APIs they are built on.

Pages render on the server from the same services as the API; their buttons and forms
call the JSON API through static scripts (the CSP forbids inline script).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template, request
from marshmallow import Schema

from common import web
from common.access import current_actor
from common.api import PageQuery, endpoint
from common.database import db
from common.permission import Role, permits
from common.users import service as users
from hub.alert.routes import bp as alerts_bp
from hub.audit import service as audit_search
from hub.audit.schemas import AuditQuery
from hub.claims import service as claims
from hub.claims import state as claim_state
from hub.claims.schemas import ClaimQuery
from hub.dashboard import service
from hub.fleet import service as fleet
from hub.fleet.routes import bp as fleet_bp
from hub.fleet.routes import health
from hub.invite import service as invite_service
from hub.invite.routes import bp as invites_bp
from hub.planning import service as planning
from hub.planning.routes import bp as planning_bp
from hub.reference import service as reference
from hub.reference.routes import bp as reference_bp
from hub.report import service as reports
from hub.report.routes import bp as reports_bp
from hub.report.routes import scope
from hub.report.schemas import Period
from hub.supply import service as supplies
from hub.supply.routes import bp as supply_bp
from hub.supply.schemas import RequestQuery, StockQuery
from hub.vehicle import service as vehicles
from hub.vehicle.routes import bp as vehicles_bp
from schema.base import utcnow

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static/hub",
)

NAV = (
    ("Dashboard", "dashboard.home", "dashboard:read"),
    ("Supply", "dashboard.supply", "supply:read"),
    ("Stock", "dashboard.stock", "inventory:read"),
    ("Reports", "dashboard.reports_page", "reports:read"),
    ("Claims", "dashboard.claims_page", "claims:read"),
    ("Formulary", "dashboard.formulary", "reference:read"),
    ("Routes", "dashboard.routes_page", "routes:read"),
    ("Vehicles", "dashboard.vehicles_page", "vehicles:read"),
    ("People", "dashboard.people", "users:read"),
    ("Audit log", "dashboard.audit", "audit:read"),
    ("Devices", "sync_pages.devices", "devices:read"),
    ("Conflicts", "sync_pages.conflicts", "sync:resolve"),
    ("Duplicates", "sync_pages.duplicates", "patients:merge"),
)


def install(app: Flask) -> None:
    """Register the head-office APIs (people, reference data, planning, supply, fleet,
    reports, alerts) and the dashboard's menu."""
    for blueprint in (
        invites_bp,
        reference_bp,
        planning_bp,
        supply_bp,
        fleet_bp,
        reports_bp,
        alerts_bp,
        vehicles_bp,
    ):
        app.register_blueprint(blueprint)
    for label, endpoint_name, permission in NAV:
        web.add_nav(app, label, endpoint_name, permission)


def _args(schema: type[Schema]) -> dict[str, Any]:
    """A page's query string through its schema; blank form fields count as absent."""
    loaded: dict[str, Any] = schema().load({k: v for k, v in request.args.items() if v != ""})
    return loaded


@bp.get("/")
@endpoint("dashboard:read", page=True)
def home() -> Any:
    """The head-office dashboard: fleet health, visits, diagnoses, claims, alerts (of
    the caller's vehicles, for a crew role)."""
    actor = current_actor()
    data = service.overview(
        db.session,
        actor,
        health(),
        utcnow(),
        with_claims=permits(actor.role, "claims:read"),
        with_alerts=permits(actor.role, "alerts:read"),
    )
    may_handle_alerts = permits(actor.role, "alerts:write")
    return render_template("dashboard/home.html", data=data, may_handle_alerts=may_handle_alerts)


@bp.get("/supply")
@endpoint("supply:read", page=True)
def supply() -> Any:
    """Supply requests from every vehicle in reach, with approve, reject and fulfil
    actions."""
    query, actor = _args(RequestQuery), current_actor()
    status = query.get("status", supplies.OPEN)
    wanted = supplies.SupplyFilter(status, query.get("vehicle_id"))
    rows, _total = supplies.list_requests(db.session, actor, wanted, query["page"], 100)
    may_approve = permits(actor.role, "supply:approve")
    return render_template(
        "dashboard/supply.html", requests=rows, status=status, may_approve=may_approve
    )


@bp.get("/stock")
@endpoint("inventory:read", page=True)
def stock() -> Any:
    """Every item's stock on every vehicle in reach, side by side."""
    query, actor = _args(StockQuery), current_actor()
    wanted = fleet.StockFilter(query.get("q"), query["low_only"])
    items, _total = fleet.stock(db.session, actor, wanted, utcnow().date(), 1, 1000)
    return render_template(
        "dashboard/stock.html",
        items=items,
        vehicles=list(vehicles.names(db.session, actor).values()),
        q=query.get("q"),
        low_only=query["low_only"],
    )


@bp.get("/reports")
@endpoint("reports:read", page=True)
def reports_page() -> Any:
    """Visits, diagnoses, stock usage and claims for a period and vehicle, with CSV."""
    query = _args(Period)
    chosen = scope(query)
    filters = {k: str(v) for k, v in query.items()}
    tables = [
        ("visits", "Visits per day, vehicle and stage", reports.visits(db.session, chosen)),
        ("diagnoses", "Top diagnoses", reports.diagnoses(db.session, chosen)),
        ("stock-usage", "Stock used", reports.stock_usage(db.session, chosen)),
        ("claims", "Claims by status", reports.claims(db.session, chosen)),
    ]
    return render_template(
        "dashboard/reports.html",
        reports=tables,
        scope=chosen,
        filters=filters,
        vehicles=vehicles.names(db.session, chosen.reach),
    )


@bp.get("/claims")
@endpoint("claims:read", page=True)
def claims_page() -> Any:
    """Claims by status, vehicle and visit, each with its chain of corrections: the
    claim it corrects, the claim that replaced it, and its reversal at PALMED."""
    query, actor = _args(ClaimQuery), current_actor()
    page = query.pop("page")
    query.pop("per_page")
    rows, total = claims.listing(db.session, actor, claims.ClaimFilter(**query), page, 100)
    return render_template(
        "dashboard/claims.html",
        claims=rows,
        total=total,
        filters=query,
        statuses=claim_state.ALL,
        vehicles=vehicles.names(db.session, actor),
    )


@bp.get("/formulary")
@endpoint("reference:read", page=True)
def formulary() -> Any:
    """The formulary and tariff table, with CSV export and import."""
    items, _ = reference.page_of(db.session, reference.items(None, None, None), 1, 2000)
    tariffs, _ = reference.page_of(db.session, reference.tariffs(None, None), 1, 2000)
    may_write = permits(current_actor().role, "formulary:write")
    return render_template(
        "dashboard/formulary.html", items=items, tariffs=tariffs, may_write=may_write
    )


@bp.get("/routes")
@endpoint("routes:read", page=True)
def routes_page() -> Any:
    """Routes planned from today (of the vehicles in reach), with CSV export and import."""
    since, actor = utcnow().date(), current_actor()
    wanted = planning.RouteFilter(date_from=since)
    routes, _ = planning.list_routes(db.session, actor, wanted, 1, 500)
    return render_template(
        "dashboard/routes.html",
        routes=routes,
        since=since,
        vehicles=vehicles.names(db.session, actor),
        may_write=permits(actor.role, "routes:write"),
    )


@bp.get("/vehicles")
@endpoint("vehicles:read", page=True)
def vehicles_page() -> Any:
    """The vehicles in reach: register and change them, issue their laptops' enrollment
    tokens."""
    actor = current_actor()
    fleet_rows, _ = vehicles.list_vehicles(db.session, actor, None, 1, 1000)
    provinces, _ = reference.page_of(db.session, reference.provinces(), 1, 1000)
    return render_template(
        "dashboard/vehicles.html",
        fleet=fleet_rows,
        provinces={p.id: p.name for p in provinces},
        may_register=permits(actor.role, "vehicles:write"),
        may_enroll=permits(actor.role, "devices:manage"),
    )


@bp.get("/people")
@endpoint("users:read", page=True)
def people() -> Any:
    """Staff accounts: roles, vehicles, password resets, deactivation and invitations."""
    page = _args(PageQuery)["page"]
    rows, total = users.list_users(db.session, users.UserFilter(), page, 100)
    pending, _ = invite_service.list_invites(db.session, True, 1, 100)
    return render_template(
        "dashboard/people.html",
        users=rows,
        invites=pending,
        pages=max(1, -(-total // 100)),
        vehicles=vehicles.names(db.session, current_actor()),
        roles=[role.value for role in Role],
        may_manage=permits(current_actor().role, "users:manage"),
    )


@bp.get("/audit")
@endpoint("audit:read", page=True)
def audit() -> Any:
    """Search the audit trail of every node (the CSV export takes the same filters)."""
    query = _args(AuditQuery)
    page, per_page = query.pop("page"), query.pop("per_page")
    records, total = audit_search.search(
        db.session, current_actor(), audit_search.AuditFilter(**query), page, per_page
    )
    filters = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in query.items()}
    return render_template(
        "dashboard/audit.html",
        records=records,
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
        query=query,
        filters=filters,
    )
