from datetime import datetime, timezone

import pytest

from kmb import storage, stored_parquet
from kmb.errors import KmbError


def _doc(i: int) -> dict:
    return {
        "doc_id": f"test:{i}",
        "source": "test",
        "url": f"http://127.0.0.1/{i}",
        "title": f"제목 {i}",
        "text": "고혈압은 흔한 질환이다.",
        "language": "ko",
        "published_at": datetime(2015, 3, 1, 9, 0, tzinfo=timezone.utc),
        "crawled_at": datetime.now(timezone.utc),
    }


def test_doc_ids_reads_every_part(tmp_path):
    assert stored_parquet.doc_ids(tmp_path / "missing") == set()
    storage.write_rows(tmp_path / storage.part_name(), [_doc(i) for i in range(3)], storage.DOCUMENTS)
    storage.write_rows(tmp_path / storage.part_name(), [_doc(7)], storage.DOCUMENTS)
    assert stored_parquet.doc_ids(tmp_path) == {"test:0", "test:1", "test:2", "test:7"}


def test_parquet_footer_reads_a_good_file_and_names_a_damaged_one(tmp_path):
    path = tmp_path / "part-1.parquet"
    storage.write_rows(path, [_doc(i) for i in range(3)], storage.DOCUMENTS)
    assert stored_parquet.parquet_footer(path).num_rows == 3
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(KmbError) as err:
        stored_parquet.parquet_footer(path)
    assert str(err.value).startswith(f"{path}: a Parquet file is damaged")
