"""The words of the registry, in one table: station types, amenities, operating statuses, roles and report kinds,
with their labels in Chinese (first) and English.

Everything that names or shows one of these takes it from here: the Station model, the importers' value
checks, the API's and CLI's help, the maps' layer names and the station app in the browser (the labels reach
the page in its configuration, ``page_labels``). A light module (no third-party imports), so the CLI can name
the vocabulary in its help without loading the registry.

>>> STATION_TYPES[0], label("outdoor_worker"), label("hot_water", "en")
('outdoor_worker', '骑手/户外劳动者', 'Hot water')
"""

from __future__ import annotations

from typing import Literal, get_args

StationType = Literal["outdoor_worker", "driver_home", "nursing_room"]
STATION_TYPES: tuple[str, ...] = get_args(StationType)

Amenity = Literal[
    "drinking_water",
    "hot_water",
    "microwave",
    "fridge",
    "seating",
    "toilet",
    "phone_charging",
    "ebike_charging",
    "battery_swap",
    "wifi",
    "first_aid",
    "aed",
    "umbrella",
    "books",
    "shower",
    "laundry",
    "air_conditioning",
    "wheelchair",
    "parking",
    "truck_parking",
    "breastfeeding_room",
    "changing_table",
    "lockable_door",
    "sink",
]
AMENITIES: tuple[str, ...] = get_args(Amenity)
RIDER_AMENITIES: tuple[Amenity, ...] = (
    "ebike_charging", "battery_swap", "toilet", "hot_water", "microwave", "phone_charging", "air_conditioning",
    "wheelchair", "changing_table",
)  # fmt: skip
"""The amenities the station app offers as filters and lists for each station, in this order: what riders of
e-bikes and drivers stop for first (charging, battery swap, a toilet), then comfort, then access (无障碍) and
baby changing (尿布台)."""

TriState = Literal["yes", "no", "unknown"]
OperatingStatus = Literal["normal", "notice", "limited", "temporarily_closed", "closed"]
OPERATING_STATUSES: tuple[str, ...] = get_args(OperatingStatus)
CLOSED_STATUSES = frozenset({"temporarily_closed", "closed"})

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

ReportKind = Literal["closed", "moved", "hours_wrong", "amenity_missing", "other"]
REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)

LABELS: dict[str, tuple[str, str]] = {
    # station types: what riders, drivers and parents call them
    "outdoor_worker": ("骑手/户外劳动者", "Riders / outdoor workers"),
    "driver_home": ("司机之家", "Driver home"),
    "nursing_room": ("母婴室", "Nursing room"),
    # amenities
    "drinking_water": ("饮用水", "Drinking water"),
    "hot_water": ("热水", "Hot water"),
    "microwave": ("微波炉", "Microwave"),
    "fridge": ("冰箱", "Fridge"),
    "seating": ("座椅", "Seating"),
    "toilet": ("卫生间", "Toilet"),
    "phone_charging": ("充电", "Charging"),
    "ebike_charging": ("电动车充电", "E-bike charging"),
    "battery_swap": ("换电", "Battery swap"),
    "wifi": ("无线网络", "Wi-Fi"),
    "first_aid": ("急救箱", "First aid"),
    "aed": ("除颤仪 AED", "AED"),
    "umbrella": ("爱心雨伞", "Umbrellas"),
    "books": ("书报", "Books"),
    "shower": ("淋浴", "Shower"),
    "laundry": ("洗衣", "Laundry"),
    "air_conditioning": ("空调", "Air conditioning"),
    "wheelchair": ("无障碍", "Wheelchair access"),
    "parking": ("停车", "Parking"),
    "truck_parking": ("货车停车", "Truck parking"),
    "breastfeeding_room": ("哺乳间", "Breastfeeding room"),
    "changing_table": ("尿布台", "Changing table"),
    "lockable_door": ("可锁门", "Lockable door"),
    "sink": ("洗手池", "Sink"),
}
"""Name → (Chinese, English) label of every station type and amenity."""

LAYER_LABELS: dict[str, str] = {
    "outdoor_worker": "户外劳动者服务站 outdoor workers",
    "driver_home": "司机之家 driver homes",
    "nursing_room": "母婴室 nursing rooms",
}
"""Station type → the bilingual name of its layer on the planners' coverage map."""


def label(name: str, lang: str = "zh") -> str:
    """The label of a station type or amenity in ``lang`` (``zh`` or ``en``); the name itself if unknown.

    >>> label("battery_swap"), label("kiosk")
    ('换电', 'kiosk')
    """
    labels = LABELS.get(name)
    if labels is None:
        return name
    return labels[1] if lang == "en" else labels[0]


def page_labels() -> dict[str, dict[str, str]]:
    """The labels as the station app takes them in its configuration: ``{"zh": {...}, "en": {...}}``.

    >>> page_labels()["en"]["driver_home"]
    'Driver home'
    """
    return {lang: {name: label(name, lang) for name in LABELS} for lang in ("zh", "en")}
