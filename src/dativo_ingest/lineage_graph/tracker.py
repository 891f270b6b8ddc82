"""LineageTracker, the service behind :mod:`dativo_ingest.lineage` (its public face): nodes and edges
in the metadata store, runs recorded and emitted as OpenLineage events, graph queries and rendering.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from openlineage.client.uuid import generate_new_uuid

from dativo_ingest.errors import DativoError, NotFoundError, UsageError
from dativo_ingest.lineage_graph import model as m
from dativo_ingest.lineage_graph.events import RunSlice, build_run_event, event_to_dict, event_type_for
from dativo_ingest.lineage_graph.model import ColumnEdge, LineageEdge, LineageNode
from dativo_ingest.lineage_graph.render import to_dot, to_mermaid
from dativo_ingest.lineage_graph.transport import configured_in_environment, emit, make_client
from dativo_ingest.lineage_graph.traversal import impacted, walk
from dativo_ingest.lineage_graph.usage import consumers
from dativo_ingest.lineage_graph.validation import validate_event
from dativo_ingest.logging import get_logger
from dativo_ingest.odcs.model import AssetDefinition
from dativo_ingest.store.database import MetadataStore
from dativo_ingest.store.lineage import lineage_edges, lineage_nodes
from dativo_ingest.store.lineage.repository import GraphRepository, now_iso
from dativo_ingest.workspace import Workspace

__all__ = ["EdgesView", "LineageTracker", "NodesView"]

#: The tracker logs under its public name; a run collects delivery warnings from this logger.
LOGGER_NAME = "dativo_ingest.lineage"
logger = get_logger(LOGGER_NAME)
NodeRef = LineageNode | str
#: The database file of a tracker given a ``lineage_dir``.
LINEAGE_DIR_DATABASE = "lineage.db"


def _id(ref: NodeRef) -> str:
    return ref.id if isinstance(ref, LineageNode) else str(ref)


class NodesView(Mapping[str, LineageNode]):
    """Read-only view of every stored node, by id."""

    def __init__(self, repo: GraphRepository) -> None:
        self._repo = repo

    def __getitem__(self, node_id: str) -> LineageNode:
        node = self._repo.get_node(node_id)
        if node is None:
            raise KeyError(node_id)
        return node

    def __iter__(self) -> Iterator[str]:
        return iter(self._repo.iter_node_ids())

    def __len__(self) -> int:
        return self._repo.count(lineage_nodes)


class EdgesView(Sequence[LineageEdge]):
    """Read-only view of every stored node-level edge, sorted by (from, to, type)."""

    def __init__(self, repo: GraphRepository) -> None:
        self._repo = repo

    def __getitem__(self, index: Any) -> Any:
        return self._repo.edges()[index]

    def __iter__(self) -> Iterator[LineageEdge]:
        return iter(self._repo.edges())

    def __len__(self) -> int:
        return self._repo.count(lineage_edges)

    def __contains__(self, edge: object) -> bool:
        if not isinstance(edge, LineageEdge):
            return False
        return self._repo.has_edge(edge.from_id, edge.to_id, edge.edge_type)


class LineageTracker:
    """Builds and queries the lineage graph in the metadata store; records runs as OpenLineage events.

    ``store`` is a :class:`MetadataStore` or database URL (default: the current workspace's store).
    ``openlineage`` is an ``OpenLineageClient``, a config dict (openlineage.yml content), ``True`` (use the
    standard configuration) or ``False``; by default events are sent only when the environment configures
    a transport. Nothing is written until a node is added.

    ``lineage_dir`` (instead of ``store``, as the reference implementation is called) gives the tracker a
    store of its own in that folder (``<lineage_dir>/lineage.db``), so its graph persists there;
    :attr:`nodes` and :attr:`edges` are then that folder's graph (empty for a new folder).
    """

    def __init__(
        self,
        store: MetadataStore | str | None = None,
        *,
        workspace: Workspace | str | Path | None = None,
        job_namespace: str = "dativo",
        openlineage: Any = None,
        lineage_dir: str | Path | None = None,
    ) -> None:
        if lineage_dir is not None and store is not None:
            raise UsageError("give a store or a lineage_dir, not both", field="lineage_dir")
        #: The folder holding this tracker's own store (None when it uses a given or the workspace's store).
        self.lineage_dir = Path(lineage_dir) if lineage_dir is not None else None
        if self.lineage_dir is not None:
            store = f"sqlite:///{self.lineage_dir.resolve() / LINEAGE_DIR_DATABASE}"
        self._store_arg = store
        self._workspace = workspace if isinstance(workspace, Workspace) else Workspace.current(workspace)
        self._repo: GraphRepository | None = None
        self.job_namespace = job_namespace
        self._openlineage = openlineage
        self._client: Any = None
        self._session: dict[str, LineageNode] = {}
        self._session_edges: dict[tuple[str, str, str], LineageEdge] = {}
        self._session_columns: dict[tuple[str, str, str, str], ColumnEdge] = {}
        self._scope: str | None = None
        self.last_run: dict[str, Any] | None = None
        self.last_event: dict[str, Any] | None = None
        self._open_run: tuple[str, str, str] | None = None  # (run_id, tenant_id, job_name) after start_run

    # ----- store ------------------------------------------------------------------------------
    @property
    def repository(self) -> GraphRepository:
        if self._repo is None:
            store = self._store_arg
            if not isinstance(store, MetadataStore):
                store = MetadataStore(store) if store else MetadataStore(self._workspace.database_url)
            self._repo = GraphRepository(store)
        return self._repo

    @property
    def nodes(self) -> NodesView:
        """Every stored node by id (a live view of the store)."""
        return NodesView(self.repository)

    @property
    def edges(self) -> EdgesView:
        """Every stored node-level edge (a live view of the store)."""
        return EdgesView(self.repository)

    @property
    def session_nodes(self) -> list[LineageNode]:
        """Nodes this tracker added (the slice a run record and event describe)."""
        return list(self._session.values())

    @property
    def session_edges(self) -> list[LineageEdge]:
        return list(self._session_edges.values())

    def _add(self, node: LineageNode) -> LineageNode:
        stored = self.repository.upsert_node(node)
        self._session[stored.id] = stored
        return stored

    # ----- nodes ------------------------------------------------------------------------------
    def add_source_node(self, source_type: str, object_name: str, **attributes: Any) -> LineageNode:
        """A source object (``source://stripe/customers``); ``connection={...}`` names it for OpenLineage."""
        node_id = m.source_id(source_type, object_name)
        self._scope = f"{source_type}/{object_name}"
        attrs = {"source_type": source_type, "object": object_name, **attributes}
        return self._add(LineageNode(node_id, m.SOURCE, f"{source_type}.{object_name}", attrs))

    def add_asset_node(self, asset: AssetDefinition | Mapping[str, Any]) -> LineageNode:
        """A contract version (``asset://stripe/customers@1.0.0``) from an AssetDefinition (or its dict)."""
        if isinstance(asset, Mapping):
            asset = AssetDefinition.from_dict(dict(asset))
        source_type = asset.source_type or "unknown"
        object_name = asset.object_name
        node_id = m.asset_id(source_type, object_name, asset.version)
        self._scope = f"{source_type}/{object_name}"
        return self._add(LineageNode(node_id, m.ASSET, asset.name or object_name, _asset_attributes(asset)))

    def add_transformation_node(
        self,
        name: str | None = None,
        *,
        scope: str | None = None,
        description: str | None = None,
        transformation_name: str | None = None,
        **attributes: Any,
    ) -> LineageNode:
        """A processing step. Its id is scoped by ``scope``, else by the last source or asset added here
        (``transformation://stripe/customers/schema_validation``), so pipelines do not share steps.

        ``transformation_name`` is another name for ``name``; other keywords (``transformation_type=``)
        become attributes."""
        name = _given(name, transformation_name, "name", "transformation_name")
        scope = scope if scope is not None else self._scope
        attrs = {**attributes, **({"description": description} if description else {}), "scope": scope}
        return self._add(LineageNode(m.transformation_id(name, scope), m.TRANSFORMATION, name, attrs))

    def add_target_node(
        self,
        target_type: str,
        catalog: str,
        table: str | None = None,
        *,
        table_name: str | None = None,
        **attributes: Any,
    ) -> LineageNode:
        """A written table (``target://iceberg/bronze/stripe_customers``); ``location=`` its physical path.
        ``table_name`` is another name for ``table``."""
        table = _given(table, table_name, "table", "table_name")
        node_id = m.target_id(target_type, catalog, table)
        attrs = {"target_type": target_type, "catalog": catalog, "table": table, **attributes}
        if "warehouse" not in attrs and not attrs.get("location"):
            attrs["warehouse"] = str(self._workspace.warehouse)
        return self._add(LineageNode(node_id, m.TARGET, f"{catalog}.{table}", attrs))

    def add_dbt_source_node(
        self, source_name: str, table: str, *, project: str | None = None, **attributes: Any
    ) -> LineageNode:
        """A dbt source table (``dbt://source.<project>.<source_name>.<table>``)."""
        parts = [p for p in (project, source_name, table) if p]
        unique_id = m.dbt_unique_id("source", ".".join(parts))
        attrs = {"unique_id": unique_id, "source_name": source_name, "table": table, **attributes}
        return self._add(LineageNode(f"dbt://{unique_id}", m.DBT_SOURCE, f"{source_name}.{table}", attrs))

    def add_dbt_model_node(self, model: str, **attributes: Any) -> LineageNode:
        """A dbt model, by dbt ``unique_id`` (``model.shop.stg_customers``) or bare name."""
        unique_id = m.dbt_unique_id("model", model)
        attrs = {"unique_id": unique_id, **attributes}
        return self._add(LineageNode(f"dbt://{unique_id}", m.DBT_MODEL, unique_id.rsplit(".", 1)[-1], attrs))

    def add_dbt_seed_node(self, seed: str, **attributes: Any) -> LineageNode:
        """A dbt seed (a CSV ``dbt seed`` loads), by ``unique_id`` (``seed.shop.countries``) or bare name."""
        unique_id = m.dbt_unique_id("seed", seed)
        attrs = {"unique_id": unique_id, **attributes}
        return self._add(LineageNode(f"dbt://{unique_id}", m.DBT_SEED, unique_id.rsplit(".", 1)[-1], attrs))

    def add_dbt_snapshot_node(self, snapshot: str, **attributes: Any) -> LineageNode:
        """A dbt snapshot (a slowly changing dimension table), by ``unique_id`` or bare name."""
        unique_id = m.dbt_unique_id("snapshot", snapshot)
        attrs = {"unique_id": unique_id, **attributes}
        return self._add(
            LineageNode(f"dbt://{unique_id}", m.DBT_SNAPSHOT, unique_id.rsplit(".", 1)[-1], attrs)
        )

    def add_exposure_node(self, exposure: str, **attributes: Any) -> LineageNode:
        """A dbt exposure (dashboard, notebook, ML model...), by ``unique_id`` or bare name."""
        unique_id = m.dbt_unique_id("exposure", exposure)
        attrs = {"unique_id": unique_id, **attributes}
        return self._add(LineageNode(f"dbt://{unique_id}", m.EXPOSURE, unique_id.rsplit(".", 1)[-1], attrs))

    # ----- edges ------------------------------------------------------------------------------
    def add_edge(
        self, from_node: NodeRef, to_node: NodeRef, edge_type: str = m.DEFAULT_EDGE_TYPE, **attributes: Any
    ) -> LineageEdge:
        """Link two stored nodes (objects or ids); idempotent."""
        if not str(edge_type).strip():
            raise UsageError("edge_type must not be empty", field="edge_type")
        edge = self.repository.add_edge(LineageEdge(_id(from_node), _id(to_node), str(edge_type), attributes))
        self._touch(edge.from_id, edge.to_id)
        self._session_edges[(edge.from_id, edge.to_id, edge.edge_type)] = edge
        return edge

    def add_column_edge(
        self,
        from_node: NodeRef,
        from_field: str,
        to_node: NodeRef,
        to_field: str,
        transformation: str = "IDENTITY",
        description: str | None = None,
    ) -> ColumnEdge:
        """Column ``from_field`` of one node feeds ``to_field`` of another (IDENTITY, MASKED, ...)."""
        edge = ColumnEdge(
            _id(from_node), from_field, _id(to_node), to_field, transformation.upper(), description
        )
        self.repository.add_column_edges([edge])
        self._touch(edge.from_id, edge.to_id)
        self._session_columns[(edge.from_id, from_field, edge.to_id, to_field)] = edge
        return edge

    def clear_inputs(self, node: NodeRef) -> None:
        """Forget every edge into ``node``, node and column level (before re-declaring what it reads)."""
        node_id = _id(node)
        self.repository.remove_inputs(node_id)
        self._session_edges = {k: e for k, e in self._session_edges.items() if e.to_id != node_id}
        self._session_columns = {k: e for k, e in self._session_columns.items() if e.to_id != node_id}

    def _touch(self, *ids: str) -> None:
        missing = [i for i in ids if i not in self._session]
        self._session.update(self.repository.get_nodes(missing))

    # ----- dbt usage --------------------------------------------------------------------------
    def record_model_columns(
        self, model_id: str, source_type: str, object_name: str, columns: Sequence[str]
    ) -> None:
        """Record that dbt model ``model_id`` reads ``columns`` of contract ``source_type``/``object_name``.

        Replaces what was recorded before for that pair (re-importing a manifest is idempotent). An empty
        ``columns`` means "reads the source, columns unknown": every column then counts as used.
        """
        source = self.repository.get_node(m.source_id(source_type, object_name)) or self.add_source_node(
            source_type, object_name
        )
        model = self.add_dbt_model_node(model_id)
        self.add_edge(source, model, "reads")
        edges = [ColumnEdge(source.id, str(c), model.id, str(c)) for c in sorted({str(c) for c in columns})]
        self.repository.replace_column_edges(source.id, model.id, edges)

    def record_column_reads(
        self,
        from_node: NodeRef,
        to_node: NodeRef,
        pairs: Sequence[tuple[str, str]],
        edge_type: str = "depends_on",
    ) -> None:
        """``to_node`` reads ``from_node``: the node edge plus exactly the column edges ``(from_field,
        to_field)`` in ``pairs``, replacing earlier ones (a re-import is idempotent). No pairs: the columns
        are unknown and every column of ``from_node`` counts as used."""
        edge = self.add_edge(from_node, to_node, edge_type)
        columns = [ColumnEdge(edge.from_id, str(a), edge.to_id, str(b)) for a, b in sorted(set(pairs))]
        self.repository.replace_column_edges(edge.from_id, edge.to_id, columns)

    def column_consumers(self, source_type: str, object_name: str, field: str) -> list[str]:
        """dbt models (unique ids, sorted) that depend on ``field`` of the source, directly or downstream."""
        return consumers(self.repository, source_type, object_name, field)

    # ----- queries ----------------------------------------------------------------------------
    def _require(self, ref: NodeRef) -> str:
        node_id = _id(ref)
        if self.repository.get_node(node_id) is None:
            raise NotFoundError(f"unknown lineage node {node_id!r}", field="node")
        return node_id

    def get_upstream_lineage(self, node: NodeRef, max_depth: int = 10) -> list[dict[str, Any]]:
        """Nodes ``node`` depends on, within ``max_depth`` hops: ``[{node, edge, depth}]``."""
        return walk(self.repository, self._require(node), "upstream", max_depth)

    def get_downstream_lineage(self, node: NodeRef, max_depth: int = 10) -> list[dict[str, Any]]:
        """Nodes depending on ``node``, within ``max_depth`` hops: ``[{node, edge, depth}]``."""
        return walk(self.repository, self._require(node), "downstream", max_depth)

    def impact(self, source_type: str, object_name: str, field: str | None = None) -> list[dict[str, Any]]:
        """Every dbt model and exposure downstream of a source (or of one of its columns)."""
        start = self._require(m.source_id(source_type, object_name))
        if field is not None:
            known = self._known_fields(source_type, object_name)
            if known and field not in known:
                raise NotFoundError(
                    f"{source_type}/{object_name} has no field {field!r} (known: {', '.join(sorted(known))})",
                    field="field",
                )
        return impacted(self.repository, start, field)

    def _known_fields(self, source_type: str, object_name: str) -> set[str]:
        """Fields of a source as lineage knows them: its contract versions' fields and its column edges."""
        prefix = m.asset_id(source_type, object_name, "0").rpartition("@")[0] + "@"  # every version
        assets = self.repository.nodes([m.ASSET], id_prefix=prefix)
        known = {f["name"] for a in assets for f in a.attributes.get("fields", [])}
        source = m.source_id(source_type, object_name)
        known.update(e.from_field for e in self.repository.column_edges([source], incoming=False))
        return known

    def column_lineage(self, node: NodeRef) -> list[dict[str, Any]]:
        """Column edges into and out of ``node``."""
        return [e.to_dict() for e in self.repository.column_edges([self._require(node)])]

    # ----- runs and OpenLineage ---------------------------------------------------------------
    def start_run(self, tenant_id: str, job_name: str, **kwargs: Any) -> dict[str, Any]:
        """Record and emit the START of a run; the next :meth:`record_run` completes the same run id."""
        record = self.record_run(tenant_id, job_name, "start", **kwargs)
        self._open_run = (record["run_id"], tenant_id, job_name)
        return record

    def record_run(
        self,
        tenant_id: str,
        job_name: str,
        status: str,
        metrics: dict[str, Any] | None = None,
        *,
        error: str | None = None,
        parent_run_id: str | None = None,
        parent_job_name: str | None = None,
        emit: bool | None = None,
    ) -> dict[str, Any]:
        """Store a run of this tracker's nodes and edges; emit its OpenLineage event when configured.

        Returns ``{run_id, tenant_id, job_name, status, timestamp, nodes, edges, metrics}``. Each call gets
        a fresh run id, except the call that finishes a run opened with :meth:`start_run`.
        """
        event_type = event_type_for(status)
        if not str(tenant_id).strip() or not str(job_name).strip():
            raise UsageError("tenant_id and job_name must not be empty", field="job_name")
        if self._open_run and self._open_run[1:] == (tenant_id, job_name) and event_type != "START":
            run_id = self._open_run[0]
            self._open_run = None
        else:
            run_id = _new_run_id()
        record = {
            "run_id": run_id,
            "tenant_id": tenant_id,
            "job_name": job_name,
            "status": status,
            "timestamp": now_iso(),
            "nodes": [n.to_dict() for n in self.session_nodes],
            "edges": [e.to_dict() for e in self.session_edges],
            "metrics": dict(metrics or {}),
        }
        self.repository.save_run(record, event_type, parent_run_id, error)
        parent = (
            (parent_run_id, self._job_namespace(tenant_id), parent_job_name or job_name)
            if parent_run_id
            else None
        )
        event = build_run_event(self._slice(record, event_type, error, parent))
        self.last_run, self.last_event = record, event_to_dict(event)
        if self._should_emit(emit):
            self._emit_quietly(event)
        return record

    def export_to_openlineage(self, event_type: str | None = None) -> dict[str, Any]:
        """The OpenLineage RunEvent (spec JSON) for the current graph: the last recorded run's event, or,
        before any run, an event for this tracker's nodes (``event_type``, default COMPLETE)."""
        if self.last_event is not None and event_type is None:
            return self.last_event
        record = self.last_run or {
            "run_id": _new_run_id(),
            "tenant_id": "default",
            "job_name": "lineage_export",
            "timestamp": now_iso(),
            "metrics": {},
        }
        event = event_to_dict(
            build_run_event(self._slice(record, event_type_for(event_type or "COMPLETE"), None, None))
        )
        validate_event(event)
        return event

    def runs(self, job_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Recorded runs, newest first: ``{run_id, tenant_id, job_name, status, timestamp, ...}``."""
        return self.repository.runs(job_name, limit)

    def run_event(self, run_id: str | None = None, job_name: str | None = None) -> dict[str, Any]:
        """Rebuild the OpenLineage event of a stored run (default: the newest, optionally of ``job_name``)."""
        event = event_to_dict(build_run_event(self._stored_slice(run_id, job_name)))
        validate_event(event)
        return event

    def emit(self, run_id: str | None = None, job_name: str | None = None) -> dict[str, Any]:
        """Send a stored run's event (default: the newest) through the configured transport; returns it."""
        return emit(self._openlineage_client(), build_run_event(self._stored_slice(run_id, job_name)))

    def _stored_slice(self, run_id: str | None, job_name: str | None) -> RunSlice:
        found = self.repository.runs(job_name, 1, run_id)
        if not found:
            what = f"run {run_id!r}" if run_id else (f"run of job {job_name!r}" if job_name else "run")
            raise NotFoundError(f"no recorded lineage {what}; record a run first", field="run")
        record = found[0]
        nodes = self.repository.get_nodes(record["nodes"])
        ids = set(nodes)
        edges = [
            LineageEdge(e["from"], e["to"], e["type"], e.get("attributes") or {}) for e in record["edges"]
        ]
        columns = [
            c for c in self.repository.column_edges(sorted(ids)) if c.from_id in ids and c.to_id in ids
        ]
        namespace = self._job_namespace(record["tenant_id"])
        return RunSlice(
            run_id=record["run_id"],
            job_namespace=namespace,
            job_name=record["job_name"],
            event_type=record["event_type"],
            event_time=record["timestamp"],
            nodes=[nodes[i] for i in record["nodes"] if i in nodes],
            edges=[e for e in edges if e.from_id in ids and e.to_id in ids],
            column_edges=columns,
            metrics=record["metrics"],
            error=record["error"],
            parent=(record["parent_run_id"], namespace, record["job_name"])
            if record["parent_run_id"]
            else None,
            warehouse=self._workspace.warehouse,
        )

    def _job_namespace(self, tenant_id: str) -> str:
        return f"{self.job_namespace}.{tenant_id}"

    def _slice(self, record: dict[str, Any], event_type: str, error: str | None, parent: Any) -> RunSlice:
        session = set(self._session)
        stored = self.repository.column_edges(sorted(session)) if session else []
        columns = [c for c in stored if c.from_id in session and c.to_id in session]
        return RunSlice(
            run_id=record["run_id"],
            job_namespace=self._job_namespace(record["tenant_id"]),
            job_name=record["job_name"],
            event_type=event_type,
            event_time=record["timestamp"],
            nodes=self.session_nodes,
            edges=self.session_edges,
            column_edges=columns,
            metrics=record.get("metrics") or {},
            error=error,
            parent=parent,
            warehouse=self._workspace.warehouse,
        )

    def _should_emit(self, emit: bool | None) -> bool:
        if emit is not None:
            return emit
        if self._openlineage is False:
            return False
        return self._openlineage is not None or configured_in_environment()

    def _openlineage_client(self) -> Any:
        if self._client is None:
            given = self._openlineage
            if given is None or given is True or given is False:
                self._client = make_client()
            elif isinstance(given, Mapping):
                self._client = make_client(dict(given))
            else:
                self._client = given
        return self._client

    def _emit_quietly(self, event: Any) -> None:
        try:
            emit(self._openlineage_client(), event)
        except DativoError as exc:  # lineage delivery must not fail the run that is being recorded
            logger.warning("openlineage emit failed", extra={"fields": {"error": str(exc)}})

    # ----- rendering --------------------------------------------------------------------------
    def to_mermaid(self, node: NodeRef | None = None, max_depth: int = 10) -> str:
        """Mermaid flowchart of the whole graph, or of ``node`` with its upstream and downstream."""
        return to_mermaid(*self._subgraph(node, max_depth))

    def to_dot(self, node: NodeRef | None = None, max_depth: int = 10) -> str:
        """Graphviz DOT of the whole graph, or of ``node`` with its upstream and downstream."""
        return to_dot(*self._subgraph(node, max_depth))

    def _subgraph(self, node: NodeRef | None, max_depth: int) -> tuple[list[LineageNode], list[LineageEdge]]:
        repo = self.repository
        if node is None:
            return repo.nodes(), repo.edges()
        center = self._require(node)
        ids = {center}
        for direction in ("upstream", "downstream"):
            ids.update(r["node"]["id"] for r in walk(repo, center, direction, max_depth))
        nodes = list(repo.get_nodes(ids).values())
        edges = [e for e in repo.edges(sorted(ids)) if e.from_id in ids and e.to_id in ids]
        return nodes, edges


def _given(value: str | None, alias: str | None, what: str, alias_name: str) -> str:
    """A required argument passed as ``what`` or as its other name ``alias_name`` (not both, differently)."""
    if value is not None and alias is not None and value != alias:
        raise UsageError(f"{what} and {alias_name} name the same thing; give one", field=alias_name)
    chosen = value if value is not None else alias
    if chosen is None:
        raise UsageError(f"{what} is required", field=what)
    return chosen


def _new_run_id() -> str:
    return str(generate_new_uuid())


def _asset_attributes(asset: AssetDefinition) -> dict[str, Any]:
    description = getattr(asset, "description", None)
    text = None
    if description is not None:
        parts = [getattr(description, k, None) for k in ("purpose", "usage", "limitations")]
        labels = ("", "Usage: ", "Limitations: ")
        text = "\n\n".join(f"{label}{p}" for label, p in zip(labels, parts, strict=True) if p) or None
    team = getattr(asset, "team", None)
    roles = []
    for member in getattr(team, "roles", None) or []:
        get = member.get if isinstance(member, Mapping) else lambda k, r=member: getattr(r, k, None)
        email = get("username") or get("email")
        if email:
            roles.append({"role": get("role") or get("name") or "ROLE", "email": email})
    return {
        "contract_id": asset.id,
        "name": asset.name,
        "version": asset.version,
        "source_type": asset.source_type,
        "object": asset.object_name,
        "status": getattr(asset, "status", None),
        "domain": getattr(asset, "domain", None),
        "data_product": getattr(asset, "data_product", None),
        "owner": getattr(asset, "owner", None),
        "roles": roles,
        "description": text,
        "tags": list(getattr(asset, "tags", None) or []),
        "classifications": list(getattr(asset, "classifications", None) or []),
        "fields": [_field(f) for f in asset.fields],
    }


def _field(field: Any) -> dict[str, Any]:
    data = {
        "name": field.name,
        "type": getattr(field, "physical_type", None) or field.type,
        "description": getattr(field, "description", None),
        "classification": getattr(field, "classification", None),
        "required": bool(getattr(field, "required", False)),
    }
    nested = list(getattr(field, "properties", None) or [])
    if nested:
        data["fields"] = [_field(f) for f in nested]
    return data
