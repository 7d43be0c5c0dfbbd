"""The site model (Site > Building > Equipment > Point) and its loaders."""

from bms.site.brick import from_brick_ttl, to_brick_ttl
from bms.site.loader import load_site, parse_site, summarise_site
from bms.site.model import Building, Equipment, Point, Site

__all__ = [
    "Building",
    "Equipment",
    "Point",
    "Site",
    "from_brick_ttl",
    "load_site",
    "parse_site",
    "summarise_site",
    "to_brick_ttl",
]
