"""Keep the ``category`` and ``offence`` tables in step with the taxonomy file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from compstat import taxonomy
from compstat.errors import InputFileError

#: Official category ids are smallints.
MAX_OFFICIAL_ID = 32_767
#: Runs one SQL statement with a list of parameter rows.
Writer = Callable[[str, list[dict]], object]


def sync_categories(conn: Connection) -> dict[str, int]:
    """Insert new categories, update names of known ones; return code -> id."""
    ids = {code: cid for code, cid in conn.execute(text("SELECT code, id FROM category"))}
    next_id = max(ids.values(), default=0) + 1
    rows = []
    for cat in taxonomy.categories():
        if cat.code not in ids:
            ids[cat.code], next_id = next_id, next_id + 1
        rows.append(
            {
                "id": ids[cat.code],
                "code": cat.code,
                "es": cat.name_es,
                "en": cat.name_en,
                "hi": cat.high_impact,
                "so": cat.sort_order,
            }
        )
    # one statement for all rows, pipelined: 0.007 s a load instead of 0.025
    conn.execute(
        text(
            "INSERT INTO category (id, code, name_es, name_en, high_impact, sort_order) "
            "VALUES (:id, :code, :es, :en, :hi, :so) "
            "ON CONFLICT (id) DO UPDATE SET name_es = :es, name_en = :en, "
            "high_impact = :hi, sort_order = :so"
        ),
        rows,
    )
    return ids


class OffenceCatalog:
    """Offence texts of one source, with their ids and categories.

    New texts are classified with the taxonomy and inserted; texts the taxonomy
    does not know go to the catch-all category and are counted in ``unknown``.
    Ids are numbered here (the caller holds the load lock), so the insert can be
    handed to ``write`` (by default run at once) without waiting for an answer.
    """

    def __init__(
        self, conn: Connection, source_id: int, source_code: str, write: Writer | None = None
    ) -> None:
        self.source_id, self.source_code = source_id, source_code
        self.write: Writer = write or (lambda sql, rows: conn.execute(text(sql), rows))
        self.category_ids = sync_categories(conn)
        self.next_id = conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM offence")).scalar()
        rows = conn.execute(
            text("SELECT reported, id, category_id FROM offence WHERE source_id = :s"),
            {"s": source_id},
        ).all()
        self.known = {reported: (oid, cid) for reported, oid, cid in rows}
        self.unknown: Counter[str] = Counter()
        self._reclassify()

    def _reclassify(self) -> None:
        """Give stored offence texts the category the taxonomy in use gives them now.

        After a taxonomy change, or with an extra taxonomy file, the texts a release
        already brought in are counted in their new category from this load on
        (incidents stored earlier keep theirs until reloaded).
        """
        rows = []
        for reported, (oid, cid) in self.known.items():
            new = self.category_ids[taxonomy.classify(self.source_code, reported)]
            if new != cid:
                rows.append({"id": oid, "c": new, "v": taxonomy.version()})
                self.known[reported] = (oid, new)
        if rows:
            self.write(
                "UPDATE offence SET category_id = :c, taxonomy_version = :v WHERE id = :id", rows
            )

    def texts(self) -> dict[int, str]:
        """Return offence id -> text."""
        return {oid: reported for reported, (oid, _) in self.known.items()}

    def _add(self, texts: list[str]) -> None:
        """Classify new offence texts and insert them in one statement."""
        first, self.next_id = self.next_id, self.next_id + len(texts)
        rows = [
            {
                "id": first + i,
                "s": self.source_id,
                "r": reported,
                "c": self.category_ids[taxonomy.classify(self.source_code, reported)],
                "v": taxonomy.version(),
            }
            for i, reported in enumerate(texts)
        ]
        self.write(
            "INSERT INTO offence (id, source_id, reported, category_id, taxonomy_version) "
            "VALUES (:id, :s, :r, :c, :v)",
            rows,
        )
        self.known.update({row["r"]: (row["id"], row["c"]) for row in rows})

    def lookup(self, offences: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Return offence ids and category ids for an array of cleaned offence texts."""
        distinct = pc.unique(offences).to_pylist()
        new = [reported for reported in distinct if reported not in self.known]
        if new:
            self._add(new)
        position = pc.index_in(offences, value_set=pa.array(distinct))
        oids = pa.array([self.known[r][0] for r in distinct], pa.int32()).take(position)
        cids = pa.array([self.known[r][1] for r in distinct], pa.int16()).take(position)
        for reported in distinct:
            if not taxonomy.is_known(self.source_code, reported):
                self.unknown[reported] += int(pc.sum(pc.equal(offences, reported)).as_py())
        return oids, cids


class OfficialCatalog:
    """The source's own category texts (FGJ ``categoria_delito``), and the rows' categories.

    Each row's canonical category is decided once per distinct pair of offence and
    official category (:func:`compstat.taxonomy.resolve`) and spread back to the rows,
    so the override costs a few array operations per slice, not a Python call per row.
    """

    def __init__(
        self, conn: Connection, source_id: int, offences: OffenceCatalog, write: Writer
    ) -> None:
        self.source_id, self.offences, self.write = source_id, offences, write
        rows = conn.execute(
            text("SELECT name, id FROM official_category WHERE source_id = :s"), {"s": source_id}
        ).all()
        self.ids: dict[str, int] = dict(rows)
        self.next_id = conn.execute(
            text("SELECT coalesce(max(id), 0) + 1 FROM official_category")
        ).scalar_one()
        self.decided: dict[tuple[int, int], int] = {}
        self.unknown: Counter[str] = Counter()

    def _add(self, names: list[str]) -> None:
        if self.next_id + len(names) > MAX_OFFICIAL_ID:
            raise InputFileError(
                f"over {MAX_OFFICIAL_ID:,} distinct official category texts: the column "
                "holds no categories"
            )
        first, self.next_id = self.next_id, self.next_id + len(names)
        rows = []
        for i, name in enumerate(names):
            rule = taxonomy.official_rule(self.offences.source_code, name)
            code = rule.category if rule is not None and rule.category_sv is None else None
            cid = self.offences.category_ids[code] if code else None
            rows.append({"id": first + i, "s": self.source_id, "n": name, "c": cid})
        self.write(
            "INSERT INTO official_category (id, source_id, name, category_id) "
            "VALUES (:id, :s, :n, :c)",
            rows,
        )
        self.ids.update({row["n"]: row["id"] for row in rows})

    def lookup(self, official: pa.Array) -> np.ndarray:
        """Return the official category id of each row (``-1`` where it has none)."""
        encoded = pc.dictionary_encode(official)
        names = encoded.dictionary.to_pylist()
        new = [n for n in names if n not in self.ids]
        if new:
            self._add(new)
        table = np.array([self.ids[n] for n in names] + [-1], np.int16)
        indices = pc.fill_null(encoded.indices, len(names)).to_numpy(zero_copy_only=False)
        return table[indices]

    def categories(self, offence_ids: np.ndarray, official_ids: np.ndarray) -> np.ndarray:
        """Return each row's category id, decided by its offence and official category."""
        pairs = offence_ids.astype(np.int64) << 16 | (official_ids.astype(np.int64) + 1)
        distinct, rows = np.unique(pairs, return_inverse=True)
        names = {oid: name for name, oid in self.ids.items()}
        texts = self.offences.texts()
        decided = np.empty(len(distinct), np.int16)
        for i, pair in enumerate(distinct.tolist()):
            key = (pair >> 16, (pair & 0xFFFF) - 1)
            if key not in self.decided:
                official = names.get(key[1])
                code, _ = taxonomy.resolve(self.offences.source_code, texts[key[0]], official)
                self.decided[key] = self.offences.category_ids[code]
            decided[i] = self.decided[key]
        result = decided[rows]
        self._count_unknown(official_ids)
        return result

    def _count_unknown(self, official_ids: np.ndarray) -> None:
        """Count rows whose official category the taxonomy does not know (the text decided)."""
        for name, oid in self.ids.items():
            if taxonomy.official_rule(self.offences.source_code, name) is None:
                n = int((official_ids == oid).sum())
                if n:
                    self.unknown[name] += n
