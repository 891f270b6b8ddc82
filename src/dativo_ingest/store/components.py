"""Every module that declares metadata-store tables; importing this registers their migrations.

Add one import per component (lineage, finops, audit, search, runs, ...).
"""
