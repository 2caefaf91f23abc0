"""Custom buttons: v1alpha1.ui_button + the v1alpha1.cmd that starts on it, from a real Tiltfile."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from lockstep.logs.store import LogStore
from lockstep.tiltfile import load
from lockstep.ui.buttons import ButtonRunner, buttons_of

TILTFILE = textwrap.dedent("""
    local_resource('web', cmd='true')
    v1alpha1.ui_button(name='seed', text='Seed DB', location={'component_type': 'Resource', 'component_id': 'web'},
                       icon_name='cloud', requires_confirmation=True)
    v1alpha1.cmd(name='seed', args=['sh', '-c', 'echo seeded $WHO'], dir='.', env=['WHO=me'],
                 start_on={'ui_buttons': ['seed']})
    v1alpha1.ui_button(name='nav', text='Everything', location={'component_type': 'Global', 'component_id': 'nav'})
""")


def test_buttons_from_a_tiltfile_and_run_one(tmp_path: Path) -> None:
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors
    seed, nav = buttons_of(result)
    assert (seed.name, seed.text, seed.resource, seed.argv, seed.confirm) == (
        "seed", "Seed DB", "web", ("sh", "-c", "echo seeded $WHO"), True)
    assert nav.resource is None and nav.to_json()["disabled"]  # no cmd starts on it

    async def main() -> list[str]:
        logs = LogStore(None)
        runner = ButtonRunner(logs, lambda: 0.0)
        task = runner.start(seed)
        assert runner.running("seed")
        await asyncio.wait_for(task, 30)
        assert not runner.running("seed")
        return [x.text for x in logs.tail("web", 10)]

    out = asyncio.run(main())
    assert "seeded me" in out
    assert out[-1] == "Button 'Seed DB': exited with code 0"
