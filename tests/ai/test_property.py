"""Property: random policies, requesters and contracts; no restricted field detail ever reaches a
requester who may not see it, and every decision is audited."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dativo_ingest.errors import ContractNotFoundError
from tests.ai.conftest import make_asset

LABELS = ["PII", "SENSITIVE", "PHI", "INTERNAL"]
REQUESTERS = ["agent-a", "agent-b", "agent-c", "admin-x"]
TENANTS = ["t1", "t2"]
_TMP = Path(tempfile.mkdtemp(prefix="dativo-prop-"))


class DictRegistry:
    """The registry protocol the API consumes, over a dict (the real registry is tested elsewhere)."""

    def __init__(self, assets):
        self.assets = {(a.source_type, a.object_name): a for a in assets}

    def get_contract(self, source_type, object_name, version=None):
        asset = self.assets.get((source_type, object_name))
        if asset is None or (version and version != asset.version):
            raise ContractNotFoundError(f"no contract {source_type}/{object_name}")
        return asset

    def list_contracts(self):
        return sorted((s, o, a.version) for (s, o), a in self.assets.items())


label = st.one_of(st.none(), st.sampled_from(LABELS))


@st.composite
def contracts(draw):
    count = draw(st.integers(1, 3))
    out = []
    for a in range(count):
        fields = []
        for i in range(draw(st.integers(1, 4))):
            tag = f"a{a}f{i}"
            field = {
                "name": f"fld{tag}",
                "type": "string",
                "classification": draw(label),
                "description": f"secret{tag}desc",
                "examples": [f"secret{tag}ex"],
            }
            if draw(st.booleans()):
                field["type"] = "object"
                field["properties"] = [
                    {
                        "name": f"sub{tag}",
                        "type": "string",
                        "classification": draw(label),
                        "description": f"secret{tag}subdesc",
                    }
                ]
            fields.append({k: v for k, v in field.items() if v is not None})
        expectations = [
            {"type": "accepted_values", "column": f["name"], "values": [f"secret{f['name'][3:]}val"]}
            for f in fields
        ]
        asset = make_asset(
            f"src{a}",
            f"obj{a}",
            fields,
            tenant=draw(st.sampled_from([None, *TENANTS])),
            compliance={"classification": draw(st.lists(st.sampled_from(LABELS), max_size=2))},
            data_quality={"expectations": expectations},
        )
        out.append(asset)
    return out


policies = st.fixed_dictionaries(
    {
        "allowed_requesters": st.lists(st.sampled_from(REQUESTERS), max_size=3, unique=True),
        "elevated_requesters": st.lists(st.sampled_from(REQUESTERS), max_size=1, unique=True),
        "restricted_classifications": st.lists(st.sampled_from(LABELS), min_size=0, max_size=3, unique=True),
        "on_restricted": st.sampled_from(["redact", "hide", "deny"]),
        "requester_tenants": st.dictionaries(
            st.sampled_from(REQUESTERS), st.lists(st.sampled_from(TENANTS), max_size=2), max_size=2
        ),
    }
)


def walk(fields, inherited=frozenset()):
    for f in fields:
        labels = inherited | ({f.classification.upper()} if f.classification else set())
        yield f, frozenset(labels)
        yield from walk(f.properties, frozenset(labels))


def expected(policy, requester, asset):
    """(allowed, {secret tokens the requester must not see}, {field names it must not see})."""
    elevated = requester in policy["elevated_requesters"]
    restricted = set() if elevated else set(policy["restricted_classifications"])
    allow = policy["allowed_requesters"]
    if allow and requester not in allow and not elevated:
        return False, set(), set()
    tenants = policy["requester_tenants"].get(requester)
    if tenants is not None and asset.tenant is not None and asset.tenant not in tenants:
        return False, set(), set()
    all_labels = {c.upper() for c in asset.compliance.classification} | {
        lab for _, labels in walk(asset.fields) for lab in labels
    }
    if policy["on_restricted"] == "deny" and all_labels & restricted:
        return False, set(), set()
    secrets, names = set(), set()
    for f, labels in walk(asset.fields):
        if labels & restricted:
            tag = f.name[3:]
            if f.name.startswith("sub"):
                secrets.add(f"secret{tag}subdesc")
            else:  # the field and everything nested in it
                secrets |= {f"secret{tag}desc", f"secret{tag}ex", f"secret{tag}val", f"secret{tag}subdesc"}
            if policy["on_restricted"] == "hide":
                names.add(f.name)
    return True, secrets, names


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assets=contracts(), policy=policies, requester=st.sampled_from([*REQUESTERS, "stranger"]))
def test_no_restricted_detail_leaks_and_every_decision_is_audited(assets, policy, requester):
    from dativo_ingest.ai_context_api import AIContextAPI, PolicyGuard
    from dativo_ingest.store import audit
    from dativo_ingest.store.database import MetadataStore

    store = MetadataStore(f"sqlite:///{_TMP / uuid.uuid4().hex}.db")
    api = AIContextAPI(DictRegistry(assets), policy_guard=PolicyGuard(policy), store=store)
    api.lineage_tracker  # noqa: B018
    from dativo_ingest.errors import ContractNotFoundError

    calls = 0
    for asset in assets:
        allowed, secrets, hidden_names = expected(policy, requester, asset)
        calls += 1
        try:
            context = api.get_asset_context(asset.source_type, asset.object_name, requester=requester)
        except (PermissionError, ContractNotFoundError):  # another tenant's asset reads as unknown
            assert not allowed
        else:
            assert allowed
            text = json.dumps(context)
            leaked = [s for s in secrets if s in text]
            assert not leaked, (leaked, policy, requester, asset.to_dict(), context["schema"])
            assert not [n for n in hidden_names if f'"{n}' in text]
            visible = {
                f"secret{f.name[3:]}{'subdesc' if f.name.startswith('sub') else 'desc'}"
                for f, _ in walk(asset.fields)
            } - secrets
            assert all(v in text for v in visible)  # the check can fail: visible details do arrive
        for token in sorted(secrets | hidden_names):
            calls += 1
            try:
                hits = api.search_assets(token, requester=requester)
            except PermissionError:
                assert policy["allowed_requesters"] and requester not in policy["allowed_requesters"]
                continue
            assert (asset.source_type, asset.object_name) not in {
                (h["source_type"], h["object"]) for h in hits
            }
            assert token not in json.dumps(hits)
    rows = audit.query(store)
    assert len(rows) == calls
    assert {r["requester"] for r in rows} == {requester}
    assert all(r["outcome"] in {"allowed", "denied"} for r in rows)
    store.engine.dispose()
