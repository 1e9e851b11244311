"""Verdict rules on small synthetic result tables with literal numbers (no database)."""

import pandas as pd
import pytest

from bench.results import COLUMNS
from bench.verdicts import verdicts

BASE_AXES = {"loading": "lazy", "sync_flag": "json", "deletion": "hard_orm", "audio_storage": "raw_path",
             "timestamps": "naive_utc"}


def row(workload, variant="baseline", param="", **values):
    record = dict.fromkeys(COLUMNS)
    record.update(BASE_AXES, run_id="r1", workload=workload, variant=variant, param=param, rtt_ms=0.0,
                  sessions=1000, q1_s=values.get("median_s"), q3_s=values.get("median_s"))
    record.update(values)
    return record


def frame(*records):
    return pd.DataFrame(list(records), columns=COLUMNS)


def verdict_of(df, claim):
    table = verdicts(df).set_index("claim")
    return table.loc[claim, "verdict"], table.loc[claim, "evidence"], table.loc[claim, "recommended"]


def dashboard(variant, counts, medians):
    return [row("dashboard", variant, f"page_size={size}", statements=count, rows=size, median_s=median)
            for size, count, median in zip((10, 100, 1000), counts, medians)]


def test_every_claim_has_one_row_and_empty_results_are_not_measured():
    table = verdicts(frame(row("unrelated", median_s=1.0)))
    assert list(table["claim"]) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert set(table["verdict"]) == {"not measured"}
    assert table["rule"].str.len().min() > 40


def test_c1_confirmed_when_lazy_is_1_plus_n_and_selectin_bounded():
    df = frame(*dashboard("baseline", (11, 101, 1001), (0.01, 0.1, 1.0)),
               *dashboard("loading=selectin", (3, 3, 5), (0.005, 0.02, 0.2)),
               *dashboard("loading=joined", (1, 1, 1), (0.004, 0.05, 0.5)))
    verdict, evidence, recommended = verdict_of(df, "C1")
    assert verdict == "confirmed"
    assert "lazy 11/101/1001, selectin 3/3/5" in evidence
    assert "(5.0x)" in evidence
    assert recommended == "loading=selectin"


def test_c1_uses_the_sessions_that_exist_when_the_page_is_larger():
    df = frame(*[dict(r, sessions=200) for r in dashboard("baseline", (11, 101, 201), (0.01, 0.1, 0.2))],
               *[dict(r, sessions=200) for r in dashboard("loading=selectin", (3, 3, 3), (0.01, 0.02, 0.03))])
    assert verdict_of(df, "C1")[0] == "confirmed"


def test_c1_partly_when_selectin_grows_and_refuted_when_lazy_is_flat():
    growing = frame(*dashboard("baseline", (11, 101, 1001), (0.01, 0.1, 1.0)),
                    *dashboard("loading=selectin", (3, 12, 102), (0.01, 0.1, 1.0)))
    assert verdict_of(growing, "C1")[0] == "partly"
    flat = frame(*dashboard("baseline", (2, 2, 2), (0.01, 0.1, 1.0)),
                 *dashboard("loading=selectin", (3, 3, 3), (0.01, 0.1, 1.0)))
    assert verdict_of(flat, "C1")[0] == "refuted"


def sync(variant, plan, scan, read, write, sessions=1000):
    return [row("active_sync", variant, plan_top=plan, seq_scan=scan, median_s=read, sessions=sessions, rows=7),
            row("mark_sync", variant, median_s=write, sessions=sessions, rows=2)]


def test_c2_plan_shape_decides_and_recommends_cheapest_read_plus_write():
    df = frame(*sync("baseline", "Seq Scan", True, 0.016, 0.030),
               *sync("sync_flag=bool_column", "Index Only Scan", False, 0.001, 0.010),
               *sync("sync_flag=jsonb_gin", "Bitmap Heap Scan", False, 0.0009, 0.020))
    verdict, evidence, recommended = verdict_of(df, "C2")
    assert verdict == "confirmed"
    assert evidence == "at 1,000 sessions: JSON blob Seq Scan 16 ms, bool_column Index Only Scan 1 ms (16x faster)"
    assert recommended == "sync_flag=bool_column"  # 11 ms read + write against jsonb_gin's 20.9 ms


def test_c2_refuted_without_a_scan_and_partly_when_the_fix_scans_too():
    no_scan = frame(*sync("baseline", "Index Scan", False, 0.001, 0.01),
                    *sync("sync_flag=bool_column", "Index Only Scan", False, 0.001, 0.01))
    assert verdict_of(no_scan, "C2")[0] == "refuted"
    both_scan = frame(*sync("baseline", "Seq Scan", True, 0.01, 0.01),
                      *sync("sync_flag=bool_column", "Seq Scan", True, 0.01, 0.01))
    assert verdict_of(both_scan, "C2")[0] == "partly"


def test_c2_flat_blob_latency_over_sizes_is_only_partly():
    df = frame(*sync("baseline", "Seq Scan", True, 0.010, 0.01, sessions=1000),
               *sync("baseline", "Seq Scan", True, 0.011, 0.01, sessions=100000),
               *sync("sync_flag=bool_column", "Index Only Scan", False, 0.001, 0.01, sessions=100000))
    verdict, evidence, _ = verdict_of(df, "C2")
    assert verdict == "partly"
    assert "blob latency slope 0.02 over 1,000–100,000 sessions" in evidence


def test_c3_orphans_on_any_delete_path_confirm_and_zero_everywhere_refutes():
    clean = [row("delete_session", v, orphans=0, leaks=0, median_s=m)
             for v, m in (("baseline", 0.02), ("deletion=hard_db", 0.005))]
    clean += [row("purge_user", v, orphans=0, leaks=0, median_s=m)
              for v, m in (("baseline", 0.8), ("deletion=hard_db", 0.07))]
    verdict, evidence, recommended = verdict_of(frame(*clean), "C3")
    assert (verdict, recommended) == ("refuted", "deletion=hard_db")
    assert evidence.startswith("0 orphans after every one of 4 measured delete paths")
    dirty = frame(*clean, row("delete_paths", "baseline", "path=bulk_query_delete", orphans=3, median_s=0.01))
    verdict, evidence, _ = verdict_of(dirty, "C3")
    assert verdict == "confirmed"
    assert "delete_paths[path=bulk_query_delete] × baseline 3" in evidence


def deletion(soft_delete=0.01, leaks=0, restore_rows=1):
    return frame(row("delete_session", "baseline", median_s=0.02, orphans=0, leaks=0, index_bytes=1000),
                 row("delete_session", "deletion=soft", median_s=soft_delete, orphans=0, leaks=leaks,
                     index_bytes=1200),
                 row("list_live", "baseline", "deleted_fraction=0.5", median_s=0.002),
                 row("list_live", "deletion=soft", "deleted_fraction=0.5", median_s=0.0025),
                 row("list_live", "deletion=soft", "deleted_fraction=0", median_s=0.0001),
                 row("restore_session", "deletion=soft", median_s=0.001, rows=restore_rows))


def test_c4_soft_delete_affordable_partly_and_refuted():
    verdict, evidence, recommended = verdict_of(deletion(), "C4")
    assert (verdict, recommended) == ("confirmed", "deletion=soft")
    assert evidence.startswith("soft/hard_orm latency: delete_session 0.50x, list_live 1.25x; leaks 0; restore 1 ms")
    assert verdict_of(deletion(soft_delete=0.04), "C4")[0] == "partly"  # 2x the hard delete
    assert verdict_of(deletion(leaks=2), "C4")[0] == "refuted"
    assert verdict_of(deletion(restore_rows=0), "C4")[0] == "refuted"


def test_c5_rows_and_wal_ratios():
    def migration(raw_rows, raw_wal):
        return frame(row("migrate_audio_storage", "baseline", rows=raw_rows, wal_bytes=raw_wal, median_s=0.018),
                     row("migrate_audio_storage", "audio_storage=storage_key", rows=1, wal_bytes=128, median_s=0.001))

    verdict, evidence, recommended = verdict_of(migration(1664, 803296), "C5")
    assert (verdict, recommended) == ("confirmed", "audio_storage=storage_key")
    assert evidence.endswith("1,664x the rows, 6,276x the WAL")
    assert verdict_of(migration(5, 300), "C5")[0] == "partly"
    assert verdict_of(migration(1, 128), "C5")[0] == "refuted"


@pytest.mark.parametrize(("naive", "aware", "expected"), [
    ((95, 94), (95, 95), "refuted"),
    ((95, 95), (95, 95), "confirmed"),
    ((95, 94), (95, 93), "partly"),
])
def test_c6_rows_per_time_zone(naive, aware, expected):
    records = [row("recent_activity", variant, f"timezone={zone}", rows=count, median_s=0.002)
               for variant, counts in (("baseline", naive), ("timestamps=aware", aware))
               for zone, count in zip(("UTC", "Asia/Tokyo"), counts)]
    verdict, evidence, recommended = verdict_of(frame(*records), "C6")
    assert verdict == expected
    assert evidence.startswith(f"naive_utc: {naive[0]} rows in UTC, {naive[1]} rows in Asia/Tokyo")
    assert recommended == ("timestamps=aware" if aware[0] == aware[1] else "baseline")


def test_c3_prefers_the_delete_path_fact_table_and_ignores_paths_that_raised():
    df = frame(row("purge_user", "baseline", orphans=0, median_s=0.8),
               row("purge_user", "deletion=hard_db", orphans=0, median_s=0.07))
    paths = pd.DataFrame([
        {"variant": "baseline", "path": "orm_delete", "error": None, "sessions_left": 0, "orphans": 0},
        {"variant": "baseline", "path": "orm_bulk_delete", "error": "IntegrityError", "sessions_left": 1,
         "orphans": 0},
        {"variant": "deletion=hard_db", "path": "orm_delete", "error": None, "sessions_left": 0, "orphans": 0},
        {"variant": "deletion=hard_db", "path": "orm_bulk_delete", "error": None, "sessions_left": 0, "orphans": 0},
    ])
    table = verdicts(df, paths).set_index("claim")
    assert table.loc["C3", "verdict"] == "refuted"
    assert table.loc["C3", "evidence"] == ("0 orphans after every one of 3 completed delete paths (2 paths × 2 "
                                           "variants); 1 raised an error and deleted nothing (IntegrityError)")
    assert table.loc["C3", "recommended"] == "deletion=hard_db"
    paths.loc[3, "orphans"] = 4
    table = verdicts(df, paths).set_index("claim")
    assert table.loc["C3", "verdict"] == "confirmed"
    assert table.loc["C3", "evidence"].startswith("orphans left by 1 of 3 completed delete paths: "
                                                  "orm_bulk_delete × hard_db 4")
    assert table.loc["C3", "recommended"] == "baseline"


def test_c3_does_not_count_paths_that_switch_foreign_keys_off():
    paths = pd.DataFrame([
        {"variant": "baseline", "path": "orm_delete", "error": None, "sessions_left": 0, "orphans": 0},
        {"variant": "baseline", "path": "raw_sql_delete_fk_triggers_off", "error": None, "sessions_left": 0,
         "orphans": 7},
    ])
    table = verdicts(frame(row("unrelated", median_s=1.0)), paths).set_index("claim")
    assert table.loc["C3", "verdict"] == "refuted"
    assert table.loc["C3", "evidence"].endswith("not counted, FK triggers off: 7 orphans")
