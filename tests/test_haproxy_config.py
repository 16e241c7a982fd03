"""The HAProxy config docs/scale-out.md shows is docs/haproxy-nodes.cfg, the file the lab test
runs (tests/lab/test_portal_ha.py), and HAProxy accepts it as written and as the lab rewrites
it, so the example cannot rot."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.lab.portal_ha import HAPROXY_CONFIG, haproxy_config
from tests.support import require_tool

DOC = Path(__file__).resolve().parents[1] / "docs" / "scale-out.md"


def test_the_scale_out_doc_shows_the_tested_file():
    block = re.search(r"<!-- haproxy-nodes.cfg: begin -->\n```\n(.*?)```\n"
                      r"<!-- haproxy-nodes.cfg: end -->", DOC.read_text(), re.S)
    assert block, "docs/scale-out.md lost its haproxy-nodes.cfg block"
    assert block.group(1) == HAPROXY_CONFIG.read_text()


def test_haproxy_accepts_the_file_and_the_lab_copy(tmp_path):
    haproxy = require_tool("haproxy")
    lab = tmp_path / "lab.cfg"
    lab.write_text(haproxy_config(tmp_path, [18081, 18082, 18083]))
    for config in (HAPROXY_CONFIG, lab):
        checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True,
                                 text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    text = lab.read_text()
    assert text.count("    server portal") == 3 and "10.0.0.1" not in text.split(
        "backend admin_nodes")[0]
