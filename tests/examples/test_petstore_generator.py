"""gen-petstore: the generated route table and validators match openapi.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from petstore_harness import copy_example, run_python, run_step

METHODS = {"get", "put", "post", "delete", "patch"}


def spec_operations(spec_path: Path) -> set[tuple[str, str, str]]:
    doc = yaml.safe_load(spec_path.read_text())
    return {
        (method.upper(), path, op["operationId"])
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def generated(root: Path, code: str) -> object:
    done = run_python(code, root / "generated", root / "build_artifacts" / "lib")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_generated_routes_match_the_specs_operations(built_example: Path) -> None:
    ops = generated(
        built_example,
        "import json; from petstore_api import OPERATIONS as O; "
        "print(json.dumps([[o.method, o.path, o.operation_id, o.handler, o.status] for o in O]))",
    )
    assert {(m, p, i) for m, p, i, _, _ in ops} == spec_operations(built_example / "openapi.yaml")  # type: ignore[misc, union-attr]
    assert len(ops) == 11  # type: ignore[arg-type]
    by_id = {i: (h, s) for _, _, i, h, s in ops}  # type: ignore[misc, union-attr]
    assert by_id["createPet"] == ("create_pet", 201)
    assert by_id["listPets"] == ("list_pets", 200)


def test_generated_router_dispatches_every_operation(built_example: Path) -> None:
    code = """
import json
from petstore_api import OPERATIONS, PetstoreHandlers, build_router, unimplemented
router = build_router(PetstoreHandlers())
out = []
for op in OPERATIONS:
    path = op.path.replace("{petId}", "1").replace("{userId}", "2").replace("{postId}", "3")
    matched, _ = router.match(op.method, path).handler
    out.append([op.operation_id, matched.operation_id])
print(json.dumps({"pairs": out, "stubs": unimplemented(PetstoreHandlers())}))
"""
    result = generated(built_example, code)
    assert all(a == b for a, b in result["pairs"])  # type: ignore[index]
    assert len(result["stubs"]) == 11  # type: ignore[index, arg-type]


def test_generated_validators_enforce_the_schemas(built_example: Path) -> None:
    code = """
import json
from petstore_api import validators as v
print(json.dumps({
    "ok": v.body_createPet({"name": "Rex", "species": "dog", "tags": ["a-b"]}),
    "bad": v.body_createPet(
        {"name": "x" * 65, "species": "dragon", "tags": ["A", "A"], "age": True, "zz": 1}
    ),
    "user": v.body_createUser({"username": "Bob", "email": "bob"}),
    "query": v.params_listPets({}, {"limit": ["500"], "offset": ["-1"]}),
    "defaults": v.params_listPets({}, {}),
    "path": v.params_getPet({"petId": "x"}, {}),
}))
"""
    r = generated(built_example, code)
    assert r["ok"] == []  # type: ignore[index]
    bad = " | ".join(r["bad"])  # type: ignore[index]
    for needle in (
        "body.name: must be at most 64",
        "body.species: must be one of",
        "items must be unique",
        "body.tags[0]: must match",
        "body.age: expected integer, got boolean",
        "unknown property 'zz'",
    ):
        assert needle in bad, needle
    assert any("username: must match" in e for e in r["user"])  # type: ignore[index, union-attr]
    assert any("valid email" in e for e in r["user"])  # type: ignore[index, union-attr]
    assert len(r["query"][1]) == 2  # type: ignore[index]
    assert r["defaults"] == [{"limit": 20, "offset": 0}, []]  # type: ignore[index]
    assert r["path"][1] == ["path parameter petId: expected integer, got 'x'"]  # type: ignore[index]


def test_a_new_operation_in_the_spec_appears_in_the_generated_code(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    assert run_step(root, "build-lib").returncode == 0
    spec = root / "openapi.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  /api/stats:\n",
            "  /api/species:\n    get:\n      operationId: listSpecies\n      responses:\n"
            '        "200": {description: ok}\n  /api/stats:\n',
        )
    )
    done = run_step(root, "gen-petstore")
    assert done.returncode == 0, done.stderr
    assert "list_species" in done.stdout
    routes = (root / "generated" / "petstore_api" / "routes.py").read_text()
    assert "def list_species(self" in routes
    assert "sha256" in routes.splitlines()[0]


def test_conflicting_paths_fail_the_generator(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    assert run_step(root, "build-lib").returncode == 0
    spec = root / "openapi.yaml"
    text = spec.read_text()
    # A second template with the same shape as /api/pets/{petId}.
    extra = (
        "  /api/pets/{other}:\n    get:\n      operationId: getOther\n      parameters:\n"
        "        - {name: other, in: path, required: true, schema: {type: string}}\n"
        '      responses:\n        "200": {description: ok}\n'
    )
    spec.write_text(text.replace("  /api/users:\n", extra + "  /api/users:\n", 1))
    done = run_step(root, "gen-petstore")
    assert done.returncode == 1
    assert "getOther" in done.stderr and "conflicts" in done.stderr
    assert not (root / "generated").exists()


def test_generator_needs_the_published_library(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    done = run_step(root, "gen-petstore")
    assert done.returncode == 1
    assert "run build-lib first" in done.stderr
