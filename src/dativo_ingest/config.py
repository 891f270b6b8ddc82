"""The contract model (public face): :class:`AssetDefinition` and its parts.

A contract can be written in the dativo authoring format (flat ``schema`` of typed fields,
``team.owner``, ``compliance``, ``data_quality``, ``change_management``) or as an official ODCS
v3.0.x / v3.1 document; both load into the same canonical model.
"""

from dativo_ingest.odcs.model import (
    AssetDefinition,
    Compliance,
    DataQuality,
    Description,
    Expectation,
    SchemaField,
    SchemaObject,
    Team,
    TeamMember,
)

__all__ = [
    "AssetDefinition",
    "Compliance",
    "DataQuality",
    "Description",
    "Expectation",
    "SchemaField",
    "SchemaObject",
    "Team",
    "TeamMember",
]
