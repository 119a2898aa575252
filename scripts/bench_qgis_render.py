"""QGIS on the same data as desk-bench: map render time (1280x800) while panning at the
same three zoom levels. QGIS redraws the whole map for each new view, so the render time
of a view is what a pan step costs it. Needs Debian's python3-qgis (QGIS 3.22).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/bench_qgis_render.py /tmp/d100k [frames]
"""
import sys
import time

from qgis.core import (QgsApplication, QgsMapRendererCustomPainterJob, QgsMapSettings,
                       QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QImage, QPainter

folder = sys.argv[1]
frames = int(sys.argv[2]) if len(sys.argv) > 2 else 60
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
t0 = time.perf_counter()
zd = QgsVectorLayer(f"{folder}/ZD.shp", "ZD", "ogr")
zrz = QgsVectorLayer(f"{folder}/ZRZ.shp", "ZRZ", "ogr")
assert zd.isValid() and zrz.isValid(), "layers did not load"
n = zd.featureCount()
opened = time.perf_counter() - t0
ext = zd.extent()
W, H = 1280, 800
settings = QgsMapSettings()
settings.setLayers([zrz, zd])
settings.setOutputSize(QSize(W, H))
settings.setDestinationCrs(zd.crs())


def render(rect):
    """Render one view in this thread; (CPU ms of this thread, wall ms)."""
    settings.setExtent(rect)
    image = QImage(W, H, QImage.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    start, cpu = time.perf_counter(), time.thread_time()
    job.renderSynchronously()
    painter.end()
    return (time.thread_time() - cpu) * 1000.0, (time.perf_counter() - start) * 1000.0


def view(cx, cy, scale):
    hw, hh = W / 2 / scale, H / 2 / scale
    return QgsRectangle(cx - hw, cy - hh, cx + hw, cy + hh)


first = render(ext)[1]
print(f"parcels: {n}; QGIS {app.QGIS_VERSION if hasattr(app, 'QGIS_VERSION') else ''}")
print(f"open layers: {opened:.2f} s, first full render: {first:.0f} ms")
# A typical parcel side from the first feature's bounding box.
f = next(zd.getFeatures())
bb = f.geometry().boundingBox()
typical = max(bb.width(), bb.height())
cx, cy = ext.center().x(), ext.center().y()
full_scale = min(W / ext.width(), H / ext.height()) * 0.9
print("| scenario | n | CPU p50 ms | CPU p99 ms | wall p50 ms | wall p99 ms |\n|---|---|---|---|---|---|")
for name, scale in [("whole district", full_scale), ("district detail (~8 px per parcel)", 8.0 / typical),
                    ("survey zoom (~120 px per parcel)", 120.0 / typical)]:
    times = []
    x, y = cx, cy
    for k in range(frames):
        d = 1.0 if (k // 100) % 2 == 0 else -1.0
        x -= 9.0 * d / scale
        y += 3.0 * d / scale
        times.append(render(view(x, y, scale)))
    def p(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, round((len(v) - 1) * q))]
    cpu = [c for c, _ in times]
    wall = [w for _, w in times]
    print(f"| pan, {name} | {len(times)} | {p(cpu, .5):.1f} | {p(cpu, .99):.1f} | {p(wall, .5):.1f} | {p(wall, .99):.1f} |")
app.exitQgis()
