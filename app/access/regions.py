"""Region codes, as accounts, tokens and cases carry them: `xj` (Xinjiang) holds `xj-urumqi`, which
holds `xj-urumqi-tianshan`; a case or an account without a region is national."""
from __future__ import annotations

import re

from app.errors import InvalidRequest

_CODE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def valid_code(region: str | None, what: str = "region") -> str | None:
    if region is None or region == "":
        return None
    if not isinstance(region, str) or len(region) > 64 or not _CODE.match(region):
        raise InvalidRequest(f"'{what}' must be a region code such as xj or xj-urumqi (lower-case letters, "
                             f"digits and '-'), not {region!r}")
    return region
