"""Build OpenLineage RunEvents from a run's slice of the lineage graph, with openlineage-python classes.

Datasets are the run's source, target and dbt nodes: those no run edge enters are inputs, the others
outputs. Each dataset borrows schema, ownership, documentation and tags from the nearest contract
(asset) node of the run; targets get ``catalog`` + ``symlinks`` (Iceberg) and a ``columnLineage`` facet
traced back to the inputs; metrics become ``dataQualityMetrics`` and ``dataQualityAssertions`` (inputs)
and ``outputStatistics``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from openlineage.client import event_v2 as ol
from openlineage.client import facet_v2 as fc
from openlineage.client.serde import Serde

from dativo_ingest import __version__
from dativo_ingest.errors import UsageError
from dativo_ingest.lineage_graph.assertions import assertions_facet
from dativo_ingest.lineage_graph.model import (
    ASSET,
    DBT_MODEL,
    DBT_SEED,
    DBT_SNAPSHOT,
    DBT_SOURCE,
    PASS_THROUGH_KINDS,
    SOURCE,
    TARGET,
    ColumnEdge,
    LineageEdge,
    LineageNode,
)
from dativo_ingest.lineage_graph.naming import DatasetName, dataset_name, target_location

PRODUCER = "https://github.com/dativo/dativo-ingest"
DATASET_KINDS = (SOURCE, TARGET, DBT_SOURCE, DBT_MODEL, DBT_SEED, DBT_SNAPSHOT)
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")

STATUS_TO_EVENT = {
    "start": "START",
    "started": "START",
    "running": "RUNNING",
    "success": "COMPLETE",
    "succeeded": "COMPLETE",
    "complete": "COMPLETE",
    "completed": "COMPLETE",
    "ok": "COMPLETE",
    "partial": "COMPLETE",
    "fail": "FAIL",
    "failed": "FAIL",
    "failure": "FAIL",
    "error": "FAIL",
    "abort": "ABORT",
    "aborted": "ABORT",
    "cancelled": "ABORT",
    "canceled": "ABORT",
}


def event_type_for(status: str) -> str:
    """The OpenLineage event type of a run status (``success`` -> ``COMPLETE``)."""
    key = str(status).strip()
    if key.upper() in EVENT_TYPES:
        return key.upper()
    if key.lower() in STATUS_TO_EVENT:
        return STATUS_TO_EVENT[key.lower()]
    allowed = ", ".join(sorted(STATUS_TO_EVENT))
    raise UsageError(f"unknown run status {status!r}; use one of: {allowed}", field="status")


@dataclass
class RunSlice:
    """What one run touched, plus what the event needs to say about it."""

    run_id: str
    job_namespace: str
    job_name: str
    event_type: str
    event_time: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    column_edges: list[ColumnEdge] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    stack_trace: str | None = None
    parent: tuple[str, str, str] | None = None  # (run_id, job_namespace, job_name)
    job_description: str | None = None
    warehouse: Path | None = None


def build_run_event(run: RunSlice) -> ol.RunEvent:
    """The RunEvent of ``run`` (START, COMPLETE, FAIL, ABORT, ...)."""
    if run.event_type not in EVENT_TYPES:
        raise UsageError(f"unknown OpenLineage event type {run.event_type!r}", field="event_type")
    graph = _Graph(run)
    inputs = [graph.input_dataset(n) for n in graph.inputs]
    outputs = [graph.output_dataset(n) for n in graph.outputs]
    return ol.RunEvent(
        eventType=ol.RunState[run.event_type],
        eventTime=run.event_time,
        run=ol.Run(runId=run.run_id, facets=_run_facets(run)),
        job=ol.Job(namespace=run.job_namespace, name=run.job_name, facets=_job_facets(run)),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def event_to_dict(event: ol.RunEvent) -> dict[str, Any]:
    """The event as spec JSON (nulls dropped)."""
    return Serde.to_dict(event)


def _run_facets(run: RunSlice) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "processing_engine": fc.processing_engine_run.ProcessingEngineRunFacet(
            version=__version__, name="dativo", openlineageAdapterVersion=_ol_version(), producer=PRODUCER
        )
    }
    if run.parent:
        parent_run, parent_ns, parent_job = run.parent
        facets["parent"] = fc.parent_run.ParentRunFacet(
            run=fc.parent_run.Run(runId=parent_run),
            job=fc.parent_run.Job(namespace=parent_ns, name=parent_job),
            producer=PRODUCER,
        )
    if run.event_type == "FAIL" or run.error:
        facets["errorMessage"] = fc.error_message_run.ErrorMessageRunFacet(
            message=run.error or "run failed",
            programmingLanguage="python",
            stackTrace=run.stack_trace,
            producer=PRODUCER,
        )
    return facets


def _job_facets(run: RunSlice) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": fc.job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DATIVO", jobType="JOB", producer=PRODUCER
        )
    }
    if run.job_description:
        facets["documentation"] = fc.documentation_job.DocumentationJobFacet(
            description=run.job_description, contentType="text/plain", producer=PRODUCER
        )
    return facets


def _ol_version() -> str:
    try:
        return version("openlineage-python")
    except PackageNotFoundError:  # pragma: no cover - always installed with dativo
        return "unknown"


class _Graph:
    """The run's nodes and edges, with the lookups the facets need."""

    def __init__(self, run: RunSlice) -> None:
        self.run = run
        self.nodes = {n.id: n for n in run.nodes}
        self.parents: dict[str, set[str]] = {}
        self.neighbours: dict[str, set[str]] = {}
        for e in run.edges:
            if e.from_id in self.nodes and e.to_id in self.nodes:
                self.parents.setdefault(e.to_id, set()).add(e.from_id)
                self.neighbours.setdefault(e.to_id, set()).add(e.from_id)
                self.neighbours.setdefault(e.from_id, set()).add(e.to_id)
        datasets = [n for n in sorted(self.nodes.values(), key=lambda n: n.id) if n.kind in DATASET_KINDS]
        self.inputs = [n for n in datasets if not self.parents.get(n.id)]
        self.outputs = [n for n in datasets if self.parents.get(n.id)]
        self.input_ids = {n.id for n in self.inputs}
        self.col_into: dict[tuple[str, str], list[ColumnEdge]] = {}
        self.has_col_into: set[str] = set()
        for ce in run.column_edges:
            self.col_into.setdefault((ce.to_id, ce.to_field), []).append(ce)
            self.has_col_into.add(ce.to_id)
        self.names = {n.id: dataset_name(n, run.warehouse) for n in datasets}

    def asset_for(self, node: LineageNode) -> LineageNode | None:
        """The nearest contract node (breadth-first over run edges, either direction)."""
        seen, queue = {node.id}, deque([node.id])
        while queue:
            current = queue.popleft()
            for other in sorted(self.neighbours.get(current, ())):
                if other in seen:
                    continue
                if self.nodes[other].kind == ASSET:
                    return self.nodes[other]
                seen.add(other)
                queue.append(other)
        return None

    # ----- datasets ---------------------------------------------------------------------------
    def input_dataset(self, node: LineageNode) -> ol.InputDataset:
        name = self.names[node.id]
        input_facets: dict[str, Any] = {}
        metrics = self.run.metrics
        rows = _first_int(metrics, "records_read", "records_processed", "rows_read", "row_count")
        nulls = metrics.get("null_counts") or {}
        if rows is not None or nulls:
            input_facets["dataQualityMetrics"] = (
                fc.data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                    rowCount=rows,
                    columnMetrics={
                        str(col): fc.data_quality_metrics_input_dataset.ColumnMetrics(nullCount=int(count))
                        for col, count in sorted(nulls.items())
                    },
                    producer=PRODUCER,
                )
            )
        assertions = assertions_facet(metrics, PRODUCER)
        if assertions is not None:
            input_facets["dataQualityAssertions"] = assertions
        return ol.InputDataset(
            namespace=name.namespace,
            name=name.name,
            facets=self._dataset_facets(node, name),
            inputFacets=input_facets,
        )

    def output_dataset(self, node: LineageNode) -> ol.OutputDataset:
        name = self.names[node.id]
        facets = self._dataset_facets(node, name)
        lineage = self._column_lineage(node)
        if lineage:
            facets["columnLineage"] = lineage
        output_facets: dict[str, Any] = {}
        rows = _first_int(self.run.metrics, "records_written", "records_processed", "rows_written")
        size = _first_int(self.run.metrics, "bytes_written")
        if rows is not None or size is not None:
            output_facets["outputStatistics"] = (
                fc.output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rows, size=size, producer=PRODUCER
                )
            )
        return ol.OutputDataset(
            namespace=name.namespace, name=name.name, facets=facets, outputFacets=output_facets
        )

    def _dataset_facets(self, node: LineageNode, name: DatasetName) -> dict[str, Any]:
        facets: dict[str, Any] = {
            "dataSource": fc.datasource_dataset.DatasourceDatasetFacet(
                name=name.namespace, uri=_uri(name.namespace), producer=PRODUCER
            )
        }
        asset = self.asset_for(node)
        attrs = asset.attributes if asset else {}
        fields = node.attributes.get("fields") or attrs.get("fields") or []
        if fields:
            facets["schema"] = fc.schema_dataset.SchemaDatasetFacet(
                fields=_schema_fields(fields), producer=PRODUCER
            )
        owners = _owners(attrs)
        if owners:
            facets["ownership"] = fc.ownership_dataset.OwnershipDatasetFacet(owners=owners, producer=PRODUCER)
        if attrs.get("description"):
            facets["documentation"] = fc.documentation_dataset.DocumentationDatasetFacet(
                description=str(attrs["description"]), contentType="text/markdown", producer=PRODUCER
            )
        tags = _tags(attrs, fields)
        if tags:
            facets["tags"] = fc.tags_dataset.TagsDatasetFacet(tags=tags, producer=PRODUCER)
        if node.kind == TARGET and str(node.attributes.get("target_type", "")).lower() == "iceberg":
            facets.update(self._iceberg_facets(node))
        return facets

    def _iceberg_facets(self, node: LineageNode) -> dict[str, Any]:
        attrs = node.attributes
        location = target_location(attrs, self.run.warehouse)
        warehouse = str(attrs.get("warehouse") or self.run.warehouse or Path(location).parent.parent)
        warehouse_uri = warehouse if "://" in warehouse else Path(warehouse).resolve().as_uri()
        identifier = f"{attrs.get('catalog')}.{attrs.get('table')}"
        return {
            "catalog": fc.catalog_dataset.CatalogDatasetFacet(
                framework="iceberg",
                type=str(attrs.get("catalog_type", "sql")),
                name=str(attrs.get("catalog_name", "dativo")),
                metadataUri=attrs.get("catalog_uri"),
                warehouseUri=warehouse_uri,
                source="dativo",
                producer=PRODUCER,
            ),
            "symlinks": fc.symlinks_dataset.SymlinksDatasetFacet(
                identifiers=[
                    fc.symlinks_dataset.Identifier(namespace=warehouse_uri, name=identifier, type="TABLE")
                ],
                producer=PRODUCER,
            ),
        }

    def _column_lineage(self, node: LineageNode) -> Any:
        asset = self.asset_for(node)
        fields = [
            f["name"]
            for f in (
                node.attributes.get("fields") or (asset.attributes if asset else {}).get("fields") or []
            )
        ]
        fields += sorted({f for (dst, f) in self.col_into if dst == node.id} - set(fields))
        mapped: dict[str, Any] = {}
        for out_field in fields:
            sources = sorted(self._trace(node.id, out_field))
            if not sources:
                continue
            mapped[out_field] = fc.column_lineage_dataset.Fields(
                inputFields=[
                    fc.column_lineage_dataset.InputField(
                        namespace=self.names[src].namespace,
                        name=self.names[src].name,
                        field=src_field,
                        transformations=[
                            fc.column_lineage_dataset.Transformation(
                                type="DIRECT",
                                subtype="IDENTITY" if kind == "IDENTITY" else "TRANSFORMATION",
                                masking=kind == "MASKED",
                            )
                        ],
                    )
                    for src, src_field, kind in sources
                ]
            )
        if not mapped:
            return None
        return fc.column_lineage_dataset.ColumnLineageDatasetFacet(fields=mapped, producer=PRODUCER)

    def _trace(self, node_id: str, column: str) -> set[tuple[str, str, str]]:
        """Input columns ``(input_id, field, transformation)`` that feed ``node_id.column``."""
        found: set[tuple[str, str, str]] = set()
        seen: set[tuple[str, str]] = set()
        stack = [(node_id, column, "IDENTITY")]
        while stack:
            current, col, kind = stack.pop()
            if (current, col) in seen:
                continue
            seen.add((current, col))
            if current in self.input_ids and current != node_id:
                found.add((current, col, kind))
                continue
            if current in self.has_col_into:
                for ce in self.col_into.get((current, col), []):
                    step = kind if ce.transformation == "IDENTITY" else ce.transformation
                    stack.append((ce.from_id, ce.from_field, step))
                continue
            if current == node_id or self.nodes[current].kind in PASS_THROUGH_KINDS:
                stack.extend((parent, col, kind) for parent in self.parents.get(current, ()))
        return found


def _first_int(metrics: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None


def _uri(namespace: str) -> str:
    return namespace if "://" in namespace else f"{namespace}:///"


def _schema_fields(fields: list[dict[str, Any]]) -> list[Any]:
    return [
        fc.schema_dataset.SchemaDatasetFacetFields(
            name=str(f["name"]),
            type=f.get("type"),
            description=f.get("description"),
            ordinal_position=position,
            fields=_schema_fields(f.get("fields") or []),
        )
        for position, f in enumerate(fields, start=1)
    ]


def _owners(attrs: dict[str, Any]) -> list[Any]:
    owners = []
    if attrs.get("owner"):
        owners.append(fc.ownership_dataset.Owner(name=f"user:{attrs['owner']}", type="OWNER"))
    for role in attrs.get("roles") or []:
        if role.get("email"):
            owners.append(
                fc.ownership_dataset.Owner(name=f"user:{role['email']}", type=role.get("role") or "ROLE")
            )
    return owners


def _tags(attrs: dict[str, Any], fields: list[dict[str, Any]]) -> list[Any]:
    tags = [
        fc.tags_dataset.TagsDatasetFacetFields(key=str(t), value="true", source="DATIVO")
        for t in attrs.get("tags") or []
    ]
    for label in attrs.get("classifications") or []:
        tags.append(
            fc.tags_dataset.TagsDatasetFacetFields(key="classification", value=str(label), source="DATIVO")
        )
    for f in fields:
        if f.get("classification"):
            tags.append(
                fc.tags_dataset.TagsDatasetFacetFields(
                    key="classification",
                    value=str(f["classification"]),
                    source="DATIVO",
                    field=str(f["name"]),
                )
            )
    return tags
