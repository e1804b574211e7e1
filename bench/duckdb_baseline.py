#!/usr/bin/env python3
"""The DuckDB baseline of docs/performance.md: the same flatten + meetings/users summaries, from the same
get_info JSON files, on the same cores. Writes meetings.parquet and users.parquet to OUT and prints
one JSON line with the wall time and the check sums used to prove both tools agree.

With --full it also writes what wecom-attendance writes: the attendance and meetings tables
partitioned by local date (Hive layout) as Parquet and CSV, and users as Parquet and CSV.

usage: duckdb_baseline.py DATA_DIR OUT_DIR [--threads 2] [--grace 300] [--full]
"""
import argparse, json, os, time

import duckdb

ATTENDEE = ("STRUCT(userid VARCHAR, tmp_external_userid VARCHAR, status BIGINT, "
            "first_join_time BIGINT, last_quit_time BIGINT, total_join_count BIGINT, "
            "cumulative_time BIGINT)[]")
COLUMNS = {
    "admin_userid": "VARCHAR", "title": "VARCHAR", "meeting_start": "BIGINT",
    "meeting_duration": "BIGINT", "status": "BIGINT",
    "attendees": f"STRUCT(member {ATTENDEE}, tmp_external_user {ATTENDEE})",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grace", type=int, default=300)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--utc-offset-s", type=int, default=8 * 3600,
                    help="offset of the local zone (Asia/Shanghai) for the dt partition")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    t0 = time.perf_counter()
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    con.execute(f"""
    CREATE TEMP TABLE att AS
    WITH m AS (
        SELECT regexp_extract(filename, '([^/]+)\\.json$', 1) AS meetingid,
               CASE WHEN meeting_start > 0 THEN meeting_start END AS meeting_start,
               meeting_duration AS dur, status AS mstatus, attendees
        FROM read_json('{a.data}/*.json', columns = {cols}, filename = true,
                       format = 'auto', maximum_object_size = 67108864)
    ),
    rows AS (
        SELECT meetingid, meeting_start, dur, mstatus, 'member' AS kind, unnest(attendees.member) AS u FROM m
        UNION ALL
        SELECT meetingid, meeting_start, dur, mstatus, 'external' AS kind, unnest(attendees.tmp_external_user) AS u FROM m
    ),
    flat AS (
        SELECT meetingid, meeting_start, dur, mstatus, kind,
               coalesce(u.userid, u.tmp_external_userid) AS id,
               CASE WHEN u.first_join_time > 0 THEN u.first_join_time END AS fj,
               CASE WHEN u.last_quit_time > 0 THEN u.last_quit_time END AS lq,
               greatest(coalesce(u.total_join_count, 0), 0) AS jc,
               greatest(coalesce(u.cumulative_time, 0), 0) AS cum,
               CASE WHEN u.status = 1 THEN true WHEN u.status = 2 THEN false
                    ELSE coalesce(u.cumulative_time, 0) > 0 END AS attended
        FROM rows
    )
    SELECT *,
        CASE WHEN attended AND fj IS NOT NULL AND meeting_start IS NOT NULL
             THEN greatest(0, fj - meeting_start) END AS late_s,
        CASE WHEN attended AND lq IS NOT NULL AND meeting_start IS NOT NULL
             THEN greatest(0, meeting_start + dur - lq) END AS early_s,
        CASE WHEN dur IS NULL OR dur <= 0 THEN NULL
             WHEN attended THEN least(1.0, cum / dur) ELSE 0.0 END AS ratio
    FROM flat
    """)
    con.execute(f"""
    COPY (
        SELECT meetingid,
               count(*) FILTER (kind = 'member') AS members_invited,
               count(*) FILTER (kind = 'member' AND attended) AS members_attended,
               count(*) FILTER (kind = 'external' AND attended) AS externals_attended,
               coalesce(sum(cum) FILTER (attended), 0) AS total_attendance_s,
               avg(cum) FILTER (attended) AS avg_attendance_s,
               avg(ratio) FILTER (attended AND kind = 'member') AS avg_attended_ratio,
               count(*) FILTER (kind = 'member' AND late_s > {a.grace}) AS late_count,
               count(*) FILTER (kind = 'member' AND early_s > {a.grace}) AS left_early_count,
               coalesce(sum(greatest(jc - 1, 0)) FILTER (attended), 0) AS rejoin_count
        FROM att GROUP BY meetingid
    ) TO '{a.out}/meetings.parquet' (FORMAT parquet)
    """)
    con.execute(f"""
    COPY (
        SELECT id AS userid, count(*) AS meetings_invited,
               count(*) FILTER (attended) AS meetings_attended,
               coalesce(sum(cum) FILTER (attended), 0) AS total_attendance_s,
               avg(cum) FILTER (attended) AS avg_attendance_s,
               avg(ratio) FILTER (attended) AS avg_attended_ratio,
               count(*) FILTER (late_s > {a.grace}) AS late_count,
               count(*) FILTER (early_s > {a.grace}) AS left_early_count,
               min(meeting_start) AS first_meeting_start, max(meeting_start) AS last_meeting_start
        FROM att WHERE kind = 'member' AND mstatus = 3 GROUP BY id
    ) TO '{a.out}/users.parquet' (FORMAT parquet)
    """)
    if a.full:
        dt = f"DATE '1970-01-01' + CAST((meeting_start + {a.utc_offset_s}) // 86400 AS INTEGER)"
        for fmt in ("parquet", "csv"):
            con.execute(f"""COPY (SELECT *, {dt} AS dt FROM att)
                TO '{a.out}/attendance_{fmt}' (FORMAT {fmt}, PARTITION_BY (dt))""")
            con.execute(f"""COPY (SELECT s.*, {dt} AS dt FROM read_parquet('{a.out}/meetings.parquet') s
                JOIN (SELECT DISTINCT meetingid, meeting_start FROM att) m USING (meetingid))
                TO '{a.out}/meetings_{fmt}' (FORMAT {fmt}, PARTITION_BY (dt))""")
            con.execute(f"COPY (SELECT * FROM read_parquet('{a.out}/users.parquet')) "
                        f"TO '{a.out}/users.{fmt}' (FORMAT {fmt})")
    wall = time.perf_counter() - t0
    rows = con.execute("SELECT count(*) FROM att").fetchone()[0]
    print(json.dumps({"wall_s": wall, "rows": rows, "sums": checksums(con, f"'{a.out}/meetings.parquet'", f"'{a.out}/users.parquet'")}))


def checksums(con, meetings, users):
    """Totals both tools must agree on exactly (floats rounded to 6 decimals)."""
    m = con.execute(f"""
        SELECT count(*), sum(members_invited), sum(members_attended), sum(externals_attended),
               sum(total_attendance_s), sum(late_count), sum(left_early_count), sum(rejoin_count),
               round(sum(coalesce(avg_attended_ratio, 0)), 6)
        FROM read_parquet({meetings})""").fetchone()
    u = con.execute(f"""
        SELECT count(*), sum(meetings_invited), sum(meetings_attended), sum(total_attendance_s),
               sum(late_count), sum(left_early_count), round(sum(coalesce(avg_attended_ratio, 0)), 6)
        FROM read_parquet({users})""").fetchone()
    return {"meetings": [float(x) for x in m], "users": [float(x) for x in u]}


if __name__ == "__main__":
    main()
