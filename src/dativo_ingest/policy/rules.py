"""Access decisions as small pure rules, composed in :data:`RULES` (first refusal wins).

A rule takes the policy and an :class:`AccessRequest` and returns a refusing :class:`Decision` or
None to pass. When every rule passes, :func:`evaluate` allows and says how restricted fields are treated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dativo_ingest.policy.config import PolicyConfig


@dataclass(frozen=True)
class AccessRequest:
    """One question to the guard: may ``requester`` do ``action`` on a resource?"""

    requester: str
    action: str
    resource_type: str
    resource_id: str = ""
    classifications: frozenset[str] = frozenset()
    tenant: str | None = None


@dataclass(frozen=True)
class Decision:
    """The guard's answer: ``allowed``, a human ``reason`` and the ``rule`` that decided."""

    allowed: bool
    reason: str
    rule: str
    restricted: frozenset[str] = field(default_factory=frozenset)


Rule = Callable[[PolicyConfig, AccessRequest], Decision | None]


def allow_list(policy: PolicyConfig, req: AccessRequest) -> Decision | None:
    """Outside a non-empty allow list (and not elevated) -> denied."""
    if not policy.allowed_requesters or req.requester in policy.allowed_requesters:
        return None
    if policy.is_elevated(req.requester):
        return None
    return Decision(False, f"requester {req.requester!r} is not in allowed_requesters", "allow_list")


def tenant_scope(policy: PolicyConfig, req: AccessRequest) -> Decision | None:
    """A requester scoped to tenants sees only assets of those tenants (untenanted assets are shared)."""
    tenants = policy.tenants_of(req.requester)
    if tenants is None or req.tenant is None or req.tenant in tenants:
        return None
    return Decision(False, f"requester {req.requester!r} may not see tenant {req.tenant!r}", "tenant_scope")


def restricted_deny(policy: PolicyConfig, req: AccessRequest) -> Decision | None:
    """With ``on_restricted: deny`` a restricted classification refuses the whole resource."""
    if policy.on_restricted != "deny":
        return None
    hit = sorted(req.classifications & policy.restricted_for(req.requester))
    if not hit:
        return None
    return Decision(
        False,
        f"{req.resource_type} is classified {', '.join(hit)} and requester {req.requester!r} is not elevated",
        "restricted_deny",
    )


RULES: tuple[Rule, ...] = (allow_list, tenant_scope, restricted_deny)
#: The rules that need nothing but the requester (checked before a resource is even looked up).
REQUESTER_RULES: tuple[Rule, ...] = (allow_list,)


def evaluate(policy: PolicyConfig, req: AccessRequest, rules: tuple[Rule, ...] = RULES) -> Decision:
    """Run ``rules`` in order; the first refusal decides, else the request is allowed."""
    for rule in rules:
        refusal = rule(policy, req)
        if refusal is not None:
            return refusal
    if policy.is_elevated(req.requester):
        return Decision(True, "elevated requester", "elevated")
    hit = frozenset(req.classifications & policy.restricted_classifications)
    if hit:
        how = {"redact": "details withheld", "hide": "hidden"}.get(policy.on_restricted, "withheld")
        return Decision(
            True, f"allowed; fields classified {', '.join(sorted(hit))} {how}", "restricted_fields", hit
        )
    return Decision(True, "allowed", "default")


def in_full(decision: Decision, req: AccessRequest) -> Decision:
    """``decision`` as an answer to "may the requester see this in full?": an allowance that withholds
    restricted fields (``restricted_fields``) becomes a refusal naming them."""
    if not decision.allowed or not decision.restricted:
        return decision
    hit = ", ".join(sorted(decision.restricted))
    return Decision(
        False,
        f"{req.resource_type} is classified {hit} and requester {req.requester!r} is not elevated",
        "restricted_in_full",
        decision.restricted,
    )
