"""One dbt table per schema object: a contract with several objects is generated as one view per object.

A view is a shallow copy of the contract holding a single object, so every single-object generator
(columns, rules, source table, staging model) applies unchanged. Contract-level facts (id, owner,
version, governance) are shared; the object's own description, when given, describes its table.
``data_quality.expectations`` belong to the primary (first) object, as in the authoring format and in
ODCS conversion, so the other objects' views carry none.
"""

from __future__ import annotations

from typing import Any

from dativo_ingest.dbt.metadata import contract_id
from dativo_ingest.errors import DbtError
from dativo_ingest.odcs.model import AssetDefinition, Description, SchemaObject


def object_views(asset: AssetDefinition) -> list[AssetDefinition]:
    """``[asset]`` for a single-object contract, else one view per schema object, in contract order;
    a contract without fields (an ODCS template) is refused."""
    asset.require_fields("dbt generation")
    if len(asset.objects) <= 1:
        return [asset]
    return [_view(asset, obj, first=i == 0) for i, obj in enumerate(asset.objects)]


def _view(asset: AssetDefinition, obj: SchemaObject, *, first: bool) -> AssetDefinition:
    update: dict[str, Any] = {"objects": [obj], "object": obj.name, "id": contract_id(asset)}
    if obj.description:
        update["description"] = Description(purpose=obj.description)
    if not first and asset.data_quality is not None and asset.data_quality.expectations:
        update["data_quality"] = asset.data_quality.model_copy(update={"expectations": []})
    return asset.model_copy(update=update)


def single_view(asset: AssetDefinition, object_name: str | None, what: str) -> AssetDefinition:
    """The view of ``object_name`` (or the only object); a multi-object contract must name one."""
    views = object_views(asset)
    if object_name is None:
        if len(views) > 1:
            raise DbtError(
                f"contract {contract_id(asset)} has {len(views)} schema objects; pass object_name= "
                f"to pick one for the {what} (or generate the project for all of them)",
                field="object_name",
            )
        return views[0]
    for view in views:
        if object_name in (view.object_name, view.primary_object and view.primary_object.name):
            return view
    names = ", ".join(v.object_name for v in views)
    raise DbtError(
        f"contract {contract_id(asset)} has no schema object '{object_name}' (objects: {names})",
        field="object_name",
    )
