"""The store: schema, ordered migrations, and the `Store` through which every read and write goes."""

from assay.store.store import DEFAULT_DB, DatasetInfo, RunInfo, Store, StoreWriter

__all__ = ["DEFAULT_DB", "DatasetInfo", "RunInfo", "Store", "StoreWriter"]
