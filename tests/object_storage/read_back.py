"""Reads the attendance dataset back through the S3 API with pyarrow, a reader that is not the
job's, as a Hive-partitioned Parquet dataset, and compares its rows with the local CSV
partitions the same job wrote to a folder.

usage: read_back.py ENDPOINT BUCKET/PREFIX/attendance LOCAL/attendance
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
"""

import csv
import glob
import os
import sys

import pyarrow.dataset as ds
import pyarrow.fs as pafs

# The columns compared row by row: the partition and the row's identity.
KEYS = ["dt", "meetingid", "attendee_kind", "attendee_id", "attend_status"]


def main() -> int:
    endpoint, path, local = sys.argv[1:4]
    scheme, host = endpoint.split("://", 1)
    s3 = pafs.S3FileSystem(
        endpoint_override=host,
        scheme=scheme,
        region="us-east-1",
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    # Listed with ListObjectsV2 from the table's prefix (no HEAD of the prefix itself), the
    # `dt=` folders discovered as Hive partitions.
    files = [
        f.path
        for f in s3.get_file_info(pafs.FileSelector(path, recursive=True))
        if f.path.endswith(".parquet")
    ]
    factory = ds.FileSystemDatasetFactory(
        s3,
        files,
        ds.ParquetFileFormat(),
        ds.FileSystemFactoryOptions(
            partition_base_dir=path, partitioning=ds.HivePartitioning.discover()
        ),
    )
    table = factory.finish().to_table()
    remote = sorted(
        tuple("" if row[k] is None else str(row[k]) for k in KEYS)
        for row in table.select(KEYS).to_pylist()
    )

    rows = []
    for f in sorted(glob.glob(os.path.join(local, "dt=*", "part-0.csv"))):
        dt = os.path.basename(os.path.dirname(f))[len("dt="):]
        with open(f, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append((dt,) + tuple(r[k] for k in KEYS[1:]))
    rows.sort()

    print(f"pyarrow read {table.num_rows} rows in {len(set(r[0] for r in remote))} "
          f"partitions through the S3 API; the local CSV has {len(rows)} rows")
    print(f"columns: {', '.join(table.column_names)}")
    if remote != rows:
        missing = sorted(set(rows) - set(remote))[:5]
        extra = sorted(set(remote) - set(rows))[:5]
        print(f"different rows: missing {missing}, extra {extra}")
        return 1
    print(f"same rows: {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
