"""Parsing NAVER pages: real saved pages (../shared/data/naver-html) and our replay site."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kmb.crawlers import naver_lists as lists
from kmb.crawlers import naver_pages as pages
from kmb.demo.replay_server import site_root

SITE = site_root()
MANIFEST = json.loads((SITE / "manifest.json").read_text(encoding="utf-8"))


def _real(shared_data: Path, name: str) -> str:
    return pages.read_html((shared_data / "naver-html" / name).read_bytes())


# --- article ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://news.naver.com/main/read.naver?mode=LS2D&mid=shm&sid1=103&sid2=241&oid=001&aid=0009205077",
        "https://news.naver.com/main/read.nhn?mode=LSD&mid=sec&sid1=001&oid=001&aid=0009205077",
        "https://n.news.naver.com/mnews/article/001/0009205077?sid=103",
        "https://n.news.naver.com/article/001/0009205077",
        "/main/read.naver?aid=0009205077&oid=001",
    ],
)
def test_article_links_of_every_shape_normalise_to_one_id(url):
    assert lists.article_id(url) == ("001", "0009205077")


def test_non_article_links_have_no_id():
    assert lists.article_id("https://news.naver.com/main/list.naver?date=20201228") is None
    assert lists.article_id("") is None


# --- real pages ----------------------------------------------------------------------------------
def test_real_legacy_article_2017(shared_data):
    article = pages.parse_article(_real(shared_data, "n2h4/read.naver-0b6fd8.html"))
    assert (article.oid, article.aid) == ("001", "0009205077")
    assert article.layout == "legacy"
    assert article.title == "[연천소식] 군-초록우산어린이재단, 아동복지 협약"
    assert article.press == "연합뉴스"
    assert article.reporter == "우영식"
    # "2017.04.20. 오후 3:53" Korea time
    assert article.published_at == datetime(2017, 4, 20, 6, 53, tzinfo=timezone.utc)
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("경기도 연천군은 20일")  # dateline "(연천=연합뉴스)" dropped
    assert "흥(클릭!)" not in article.text  # promo link dropped
    assert "function" not in article.text  # script dropped


def test_real_legacy_article_2020_euc_kr_era(shared_data):
    article = pages.parse_article(_real(shared_data, "canrevan/article_html.html"))
    assert (article.oid, article.aid) == ("029", "0002625369")
    assert article.title == '이재명, 자신 비판한 윤희숙에 "공개 토론하자"'
    assert article.press == "디지털타임스"
    assert article.reporter == "김미경"  # from the trailing "김미경기자 e-mail" line
    assert article.published_at == datetime(2020, 9, 19, 11, 28, tzinfo=timezone.utc)
    assert "이재명 경기도지사. <연합뉴스>" not in article.text  # photo caption dropped
    assert "@" not in article.text and "the13ook" not in article.text  # trailing e-mail dropped
    assert "채널 구독" not in article.text and "바로가기" not in article.text
    assert article.text.endswith('청산해야 할 적폐일 뿐"이라고 주장했다.')
    assert len(article.text.split("\n")) == 6


@pytest.mark.parametrize("name", ["n2h4/read.naver-0b6fd8.html", "canrevan/article_html.html"])
def test_region_parse_equals_whole_page_parse_on_real_pages(shared_data, name):
    page = _real(shared_data, name)
    assert pages._article_region(page) is not None
    assert pages.parse_article(page) == pages.parse_article(page, fast=False)


def test_real_old_list_pages(shared_data):
    listing = lists.parse_old_list(_real(shared_data, "n2h4/list.naver-ada6ba.html"))
    assert len(listing.links) == 20 and listing.current_page == 1 and not listing.empty_day
    assert lists.article_id(listing.links[0]) == ("421", "0002484966")
    # asked for page=100 of a one-page day: NAVER returned page 1, so the crawler stops
    past_end = lists.parse_old_list(_real(shared_data, "n2h4/list.naver-ca7cf7.html"))
    assert past_end.current_page == 1 and len(past_end.links) == 20
    nhn = lists.parse_old_list(_real(shared_data, "canrevan/nav_html.html"))
    assert len(nhn.links) == 20 and "read.nhn" in nhn.links[0]


def test_saved_page_declaring_euc_kr_but_stored_as_utf8_is_read_as_utf8(shared_data):
    raw = (shared_data / "naver-html" / "canrevan" / "article_html.html").read_bytes()
    assert b'charset="euc-kr"' in raw[:400]
    assert "디지털타임스" in pages.read_html(raw)


# --- our replay site -----------------------------------------------------------------------------
def _site_article(doc_id: str) -> str:
    _, oid, aid = doc_id.split(":")
    return pages.read_html((SITE / "articles" / f"{oid}_{aid}.html").read_bytes())


def test_every_replay_article_parses_with_clean_text():
    for doc_id in MANIFEST["articles"]:
        page = _site_article(doc_id)
        article = pages.parse_article(page)
        assert lists.doc_id(article.oid, article.aid) == doc_id
        assert article == pages.parse_article(page, fast=False)
        text = article.text
        assert 6 <= sum(s.count(".") for s in text.split("\n")) <= 40
        for junk in ("@", "무단", "Copyright", "구독", "기자]", "(서울=", "사진=", "자료사진"):
            assert junk not in text, (doc_id, junk)
        assert article.press and article.reporter and article.published_at and article.modified_at


def test_euc_kr_legacy_replay_article():
    raw = (SITE / "articles" / "901_0000000101.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    article = pages.parse_article(pages.read_html(raw))
    assert article.layout == "legacy"
    assert article.title == "겨울철 혈압 관리, 아침 운동 전 체온 유지가 관건"
    assert article.press == "케이엠비뉴스"
    assert article.text.startswith("기온이 갑자기 떨어지면")
    # 2020-12-28 오전 7:00 KST == 2020-12-27 22:00 UTC
    assert article.published_at == datetime(2020, 12, 27, 22, 0, tzinfo=timezone.utc)


def test_current_layout_article_tag_and_summary_box():
    page = (SITE / "articles" / "904_0000000133.html").read_text(encoding="utf-8")
    assert '<article id="dic_area"' in page
    article = pages.parse_article(page, sid1="103", sid2="241")
    assert article.layout == "current"
    assert article.url == "https://n.news.naver.com/mnews/article/904/0000000133?sid=103"
    assert (article.sid1, article.sid2) == ("103", "241")
    assert article.modified_at > article.published_at
    assert article.text.count(article.text.split("\n")[0][:20]) == 1  # summary box not repeated


def test_broken_article_is_an_error_not_an_empty_document():
    with pytest.raises(lists.ArticleParseError, match="no title"):
        pages.parse_article((SITE / "articles" / "904_0000000399.html").read_text(encoding="utf-8"))
    with pytest.raises(lists.ArticleParseError, match="no article id"):
        pages.parse_article("<html><body><p>아무것도 없는 페이지</p></body></html>")


def test_replay_list_pages_both_generations():
    old = lists.parse_old_list(pages.read_html((SITE / "old/20201228/page1.html").read_bytes()))
    assert len(old.links) == 8 and old.current_page == 1
    assert lists.parse_old_list((SITE / "old/20201230/page1.html").read_text(encoding="utf-8")).empty_day
    new = lists.parse_new_list((SITE / "new/20201231/list.html").read_text(encoding="utf-8"))
    assert len(new.links) == 4 and new.has_next and new.cursor == "20201231180000"
    more = lists.parse_new_more((SITE / "new/20201231/more-20201231180000.json").read_text(encoding="utf-8"))
    assert len(more.links) == 4 and more.has_next and more.cursor == "20201231120000"
    last = lists.parse_new_more((SITE / "new/20201231/more-20201231120000.json").read_text(encoding="utf-8"))
    assert len(last.links) == 2 and not last.has_next
    with pytest.raises(lists.ArticleParseError):
        lists.parse_new_more('{"unexpected": 1}')


def test_clean_body_rules():
    page = """<html><head><meta property="og:url" content="https://n.news.naver.com/mnews/article/905/0000000001"></head>
    <body><h2 id="title_area">제목</h2><div id="dic_area">【서울=가상뉴스】 첫 문단입니다.<br><br>
    <span class="end_photo_org"><em class="img_desc">사진 설명</em></span>두 번째 문단입니다.<!-- 주석 --><br>
    <script>var a = 1;</script>세 번째 문단입니다. 홍길동 기자 hong@example.com<br>
    <a href="#">가상뉴스 바로가기</a><br>ⓒ 가상뉴스 무단전재 및 재배포 금지</div></body></html>"""
    article = pages.parse_article(page)
    assert article.text == "첫 문단입니다.\n두 번째 문단입니다.\n세 번째 문단입니다."
    assert article.reporter == "홍길동"


def test_json_line_has_the_parquet_row_fields():
    from kmb.storage import NAVER_DOCUMENTS

    article = pages.parse_article(_site_article(MANIFEST["articles"][0]))
    row = json.loads(pages.article_json(article))
    assert list(row) == NAVER_DOCUMENTS.names
    assert row["published_at"].endswith("+00:00")
