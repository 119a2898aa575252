"""schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

Result packages go up as `application/zip`, which schemathesis cannot make by itself
("Serialization not possible"). The strategy sends what an intake must survive: a real
package of one parcel, the same truncated, an empty zip, a zip that is not a package,
bytes that are not a zip, and random bytes (each must get a 4xx, never a 5xx).
"""
import io
import zipfile

import schemathesis
from hypothesis import strategies as st


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


_MANIFEST = b'{"format_version": 1, "county": "330106", "files": []}'
_SAMPLES = [
    _zip([("manifest.json", _MANIFEST)]),
    _zip([("manifest.json", _MANIFEST)])[:40],
    _zip([]),
    _zip([("readme.txt", "不是成果包".encode())]),
    _zip([("../escape.txt", b"x"), ("manifest.json", _MANIFEST)]),
    b"PK\x03\x04 not really a zip",
    b"",
]

schemathesis.openapi.media_type(
    "application/zip", st.one_of(st.sampled_from(_SAMPLES), st.binary(max_size=4096))
)
