"""The site model (Site > Building > Equipment > Point) and its loaders."""

from bms.site.model import Building, Equipment, Point, Site

__all__ = ["Building", "Equipment", "Point", "Site"]
