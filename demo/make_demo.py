"""Regenerates the bundled demo data in demo/data (run from the repository root:
`python demo/make_demo.py`). The output is committed so a newcomer needs no Python to start."""
import datetime
import pathlib
import shutil
import sys

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import write_deltalake

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "demo/data")
shutil.rmtree(root, ignore_errors=True)
table = root / "trips"
batches = [
    {"trip_id": [1, 2, 3], "city": ["paris", "paris", "lyon"], "fare": [12.5, 8.0, 22.75]},
    {"trip_id": [4, 5], "city": ["lyon", "nice"], "fare": [5.5, 17.0]},
    {"trip_id": [6, 7, 8], "city": ["nice", "paris", "lyon"], "fare": [9.25, 30.0, 11.0]},
]
for batch in batches:
    write_deltalake(str(table), pa.table(batch), mode="append", partition_by=["city"])

docs = root / "docs"
docs.mkdir(parents=True)
(docs / "README.txt").write_text("Trip data dictionary: trip_id (long), city (string), fare (double, EUR).\n")
(docs / "regions.csv").write_text("city,region\nparis,Ile-de-France\nlyon,Auvergne-Rhone-Alpes\nnice,Provence-Alpes-Cote d'Azur\n")

model = root / "models" / "fare" / "1"
model.mkdir(parents=True)
(model / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: fare_model\n")

skill = root / "skills" / "fare-report"
skill.mkdir(parents=True)
(skill / "SKILL.md").write_text("---\nname: fare-report\ndescription: Summarises fares per city.\n---\nGroup trips by city and report the mean fare.\n")
daily = pa.table({
    "day": pa.array([datetime.date(2026, 1, d) for d in (1, 2, 1, 2, 1)], pa.date32()),
    "trips": pa.array([2, 1, 2, 1, 2], pa.int64()),
    "mean_fare": pa.array([10.25, 30.0, 14.125, 11.0, 13.125], pa.float64()),
    "city": ["paris", "paris", "lyon", "lyon", "nice"],
})
ds.write_dataset(daily, root / "daily_fares", format="parquet", partitioning=["city"], partitioning_flavor="hive",
                 basename_template="part-{i}.parquet")
print(f"demo data written to {root}")
