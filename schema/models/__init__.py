"""Every model, imported so the metadata is complete wherever `schema.models` is imported."""

from schema.models.alert import Alert, AlertEscalation
from schema.models.asset import Asset, MaintenanceRecord, Supplier
from schema.models.audit import AuditChain, AuditRecord, AuditSeal
from schema.models.claim import (
    Claim,
    ClaimAttempt,
    ClaimLine,
    ClaimReversal,
    ClaimSubmission,
)
from schema.models.clinical import ClinicalNote, Diagnosis, Prescription, Referral, VitalSign
from schema.models.geography import Location, Province
from schema.models.member import MemberFeed
from schema.models.patient import Patient, PatientDuplicate
from schema.models.route import Appointment, AppointmentSlot, Route, RouteStop
from schema.models.stock import Item, Lot, StockLevel, StockMovement, Tariff
from schema.models.supply import Delivery, DeliveryLine, SupplyRequest, SupplyRequestLine
from schema.models.sync_state import (
    SyncBatch,
    SyncChange,
    SyncClock,
    SyncConflict,
    SyncCounter,
    SyncInbox,
    SyncLink,
    SyncNode,
    SyncNonce,
    SyncQuarantine,
    SyncSubscription,
)
from schema.models.user import Invite, LoginState, RevokedToken, User, UserVehicle, WebSession
from schema.models.vehicle import Device, EnrollmentToken, Vehicle
from schema.models.visit import Visit, VisitTransition

__all__ = [
    "Alert",
    "AlertEscalation",
    "Appointment",
    "AppointmentSlot",
    "Asset",
    "AuditChain",
    "AuditRecord",
    "AuditSeal",
    "Claim",
    "ClaimAttempt",
    "ClaimLine",
    "ClaimReversal",
    "ClaimSubmission",
    "ClinicalNote",
    "Delivery",
    "DeliveryLine",
    "Device",
    "Diagnosis",
    "EnrollmentToken",
    "Invite",
    "Item",
    "Location",
    "LoginState",
    "Lot",
    "MaintenanceRecord",
    "MemberFeed",
    "Patient",
    "PatientDuplicate",
    "Prescription",
    "Province",
    "Referral",
    "RevokedToken",
    "Route",
    "RouteStop",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplyRequest",
    "SupplyRequestLine",
    "SyncBatch",
    "SyncInbox",
    "SyncChange",
    "SyncClock",
    "SyncConflict",
    "SyncCounter",
    "SyncLink",
    "SyncNode",
    "SyncNonce",
    "SyncQuarantine",
    "SyncSubscription",
    "Tariff",
    "User",
    "UserVehicle",
    "Vehicle",
    "VisitTransition",
    "Visit",
    "VitalSign",
    "WebSession",
]
