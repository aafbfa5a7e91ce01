"""Generate the replay site: our own HTML that mimics NAVER's two list-page generations and two
article layouts. The generated files are committed; rerun this only to change the site:

    .venv/bin/python demo/replay_site/build_site.py

Days (section 103/241):
  2020-12-28  old list pages, EUC-KR, one page, `read.nhn` links, legacy article layout (EUC-KR)
  2020-12-29  old list pages, UTF-8, two pages (20 + 4), duplicate links, current layout (div#dic_area)
  2020-12-30  old list pages, an empty day (div.no_content)
  2020-12-31  new list page + two JSON "more" fragments (cursor paging), current layout (article#dic_area)
  2021-01-01  new list page, one page; a broken article (markup changed) and a link that 404s
The texts come from topics.py (written for kmb). Deterministic: same output every run.
"""

from __future__ import annotations

import html
import json
import random
import sys
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from topics import DEPARTMENTS, DOCTORS, GENERIC, HOSPITALS, TOPICS  # noqa: E402

SID1, SID2 = "103", "241"
REPORTERS = ["한지민", "오세훈", "배수진", "문태호", "서가은", "노현우", "신유나", "권도현"]
PRESS = {
    "901": ("케이엠비뉴스", "kmbnews"),
    "902": ("한빛건강신문", "hanbithealth"),
    "903": ("누리메디뉴스", "nurimedi"),
    "904": ("바른의학일보", "bareunmed"),
}
CAPTIONS = [
    "기사와 관련 없는 자료사진",
    "진료실에서 상담하는 모습(사진=게티이미지뱅크)",
    "건강검진을 받는 시민들",
    "연구 결과를 설명하는 그래픽",
]
rng = random.Random(20201228)


def sentences_for(topic) -> list[list[str]]:
    title, kw, specific = topic
    n = rng.randint(6, 15)
    generic = rng.sample(GENERIC, n - len(specific))
    fill = dict(kw=kw, hospital=rng.choice(HOSPITALS), dept=rng.choice(DEPARTMENTS), doctor=rng.choice(DOCTORS))
    generic = [g.format(pct=rng.randint(3, 38), **fill) for g in generic]
    body = specific[:2] + generic[:2] + specific[2:] + generic[2:]
    paragraphs, i = [], 0
    while i < len(body):
        size = rng.randint(1, 3)
        paragraphs.append(body[i : i + size])
        i += size
    return paragraphs


def legacy_article(a) -> str:
    press, mail = PRESS[a["oid"]]
    paras = "<br><br>".join(html.escape(" ".join(p), quote=False) for p in a["paragraphs"])
    t = a["time"]
    half = "오전" if t.hour < 12 else "오후"
    stamp = f"{t:%Y.%m.%d}. {half} {t.hour % 12 or 12}:{t:%M}"
    return f"""<!DOCTYPE HTML>
<html lang="ko">
<head>
<meta charset="euc-kr">
<title>{html.escape(a["title"])} : 네이버 뉴스</title>
<meta property="og:title" content="{html.escape(a["title"])}"/>
<meta property="og:type" content="article"/>
<meta property="og:url" content="https://news.naver.com/main/read.nhn?mode=LSD&amp;mid=sec&amp;sid1={SID1}&amp;oid={a["oid"]}&amp;aid={a["aid"]}"/>
<meta property="og:article:author" content="{press} | 네이버"/>
<script type="text/javascript">var nsc = "news.section";</script>
</head>
<body>
<div id="wrap">
<div class="lnb"><a href="/main/main.nhn?mode=LSD&amp;mid=shm&amp;sid1=103">생활/문화</a> <a href="#">건강정보</a></div>
<div class="article_header">
	<div class="article_info">
		<h3 id="articleTitle">{html.escape(a["title"])}</h3>
		<div class="sponsor">
기사입력 <span class="t11">{stamp}</span>
최종수정 <span class="t11">{t:%Y.%m.%d}. 오후 6:{t.minute:02d}</span>
		<a href="#" class="btn_artialoriginal">기사원문</a>
		</div>
	</div>
</div>
<div class="article_body size3" id="articleBody">
	<div id="articleBodyContents" class="_article_body_contents">
	<!-- 본문 내용 -->
<script type="text/javascript">
function _flash_removeCallback() {{}}
</script>
	<span class="end_photo_org"><img src="/img/{a["aid"]}_001.jpg" alt="" /><em class="img_desc">{rng.choice(CAPTIONS)}</em></span><br><br>(서울=케이엠비뉴스) {paras} {a["reporter"]}기자 {a["reporter_mail"]}<br><br><a href="https://media.naver.com/channel/promotion.nhn?oid={a["oid"]}" target="_blank">{press} 채널 구독</a> / <a href="https://newsstand.naver.com/{a["oid"]}" target="_blank">뉴스스탠드 구독</a><br>&lt;저작권자(c) {press}, 무단전재 및 재배포 금지&gt;
	<!-- // 본문 내용 -->
	</div>
</div>
<div class="byline">
    <p class="b_text">
        {a["reporter"]} 기자
    </p>
</div>
<div class="article_journalist"><a href="#">{a["reporter"]} 기자의 다른 기사</a></div>
<div class="footer"><p class="copyright">본 콘텐츠의 저작권은 제공처에 있습니다.</p></div>
</div>
</body>
</html>
"""


def current_article(a, body_tag: str) -> str:
    press, _ = PRESS[a["oid"]]
    paras = "<br><br>".join(html.escape(" ".join(p), quote=False) for p in a["paragraphs"])
    t = a["time"]
    summary = html.escape(a["paragraphs"][0][0], quote=False)
    return f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<title>{html.escape(a["title"])}</title>
<meta property="og:title" content="{html.escape(a["title"])}">
<meta property="og:url" content="https://n.news.naver.com/mnews/article/{a["oid"]}/{a["aid"]}?sid={SID1}">
<meta property="og:article:author" content="{press} | 네이버">
<script>window.__kmb_replay = true;</script>
<style>.media_end_head {{ margin: 0 }}</style>
</head>
<body>
<div class="u_skip"><a href="#ct">본문 바로가기</a></div>
<div id="ct" class="newsct">
<div class="media_end_head go_trans">
	<div class="media_end_head_top"><a href="#" class="media_end_head_top_logo"><img src="/logo/{a["oid"]}.png" class="media_end_head_top_logo_img light_type" alt="{press}"></a></div>
	<div class="media_end_head_title"><h2 id="title_area" class="media_end_head_headline"><span>{html.escape(a["title"])}</span></h2></div>
	<div class="media_end_head_info nv_notrans">
		<div class="media_end_head_journalist"><a href="#" class="media_end_head_journalist_box"><em class="media_end_head_journalist_name">{a["reporter"]} 기자</em></a></div>
		<div class="media_end_head_info_datestamp">
			<div class="media_end_head_info_datestamp_bunch"><span class="media_end_head_info_datestamp_term">입력</span><span class="media_end_head_info_datestamp_time _ARTICLE_DATE_TIME" data-date-time="{t:%Y-%m-%d %H:%M:%S}">{t:%Y.%m.%d. %H:%M}</span></div>
			<div class="media_end_head_info_datestamp_bunch"><span class="media_end_head_info_datestamp_term">수정</span><span class="media_end_head_info_datestamp_time _ARTICLE_MODIFY_DATE_TIME" data-modify-date-time="{t:%Y-%m-%d} 18:{t.minute:02d}:30">{t:%Y.%m.%d}. 18:{t.minute:02d}</span></div>
		</div>
	</div>
</div>
<div id="contents" class="newsct_body">
	<div id="newsct_article" class="newsct_article _article_body">
		<{body_tag} id="dic_area" class="go_trans _article_content">
<strong class="media_end_summary">{summary}</strong><br><br>
<span class="end_photo_org"><div class="nbd_im_w"><img src="/img/{a["aid"]}_001.jpg" alt=""></div><em class="img_desc">{rng.choice(CAPTIONS)}</em></span><br><br>
[{press} {a["reporter"]} 기자] {paras}<br><br>{a["reporter"]} 기자 {a["reporter_mail"]}<br><br>▶ <a href="https://media.naver.com/press/{a["oid"]}">{press} 구독하기</a><br>Copyright ⓒ {press}. 무단 전재 및 재배포 금지.
		</{body_tag}>
	</div>
	<div class="byline"><p class="byline_p"><span class="byline_s">{a["reporter"]} 기자 ({a["reporter_mail"]})</span></p></div>
	<div class="copyright"><div class="c_text">Copyright ⓒ {press}. All rights reserved. 무단 전재 및 재배포 금지.</div></div>
	<div class="media_end_linked"><a href="#">{press} 주요뉴스</a></div>
</div>
</div>
</body>
</html>
"""


BROKEN = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>개편된 기사 페이지</title>
<meta property="og:url" content="https://n.news.naver.com/mnews/article/904/0000000399?sid=103"></head>
<body><div class="newsct_2025"><h1 class="headline_v2">레이아웃이 바뀐 기사</h1>
<section class="article_text_v2"><p>이 페이지는 kmb 파서가 모르는 새 마크업을 흉내 낸다.</p></section></div></body></html>
"""


def old_list_page(day, items, page, last_page, euc_kr: bool) -> str:
    lis = []
    for a in items:
        link = a["list_link"]
        photo = (
            f'<dt class="photo"><a href="{link}"><img src="/thumb/{a["aid"]}.jpg" width="106" height="72" alt="{html.escape(a["title"])}"></a></dt>'
            if a["has_photo"]
            else ""
        )
        lede = html.escape(" ".join(a["paragraphs"][0])[:60], quote=False)
        lis.append(
            f"""<li>
<dl>
{photo}
<dt>
<a href="{link}">
 {html.escape(a["title"], quote=False)}
</a>
</dt>
<dd><span class="lede">{lede} …</span><span class="writing">{PRESS[a["oid"]][0]}</span><span class="date">{a["time"]:%Y.%m.%d.}</span></dd>
</dl>
</li>"""
        )
    head, rest = lis[:10], lis[10:]
    ul = f'<ul class="type06_headline">\n{"".join(head)}\n</ul>\n' + (
        f'<ul class="type06">\n{"".join(rest)}\n</ul>\n' if rest else ""
    )
    pages = "".join(
        f"<strong>{n}</strong>\n"
        if n == page
        else f'<a href="?mode=LS2D&amp;mid=shm&amp;sid1={SID1}&amp;sid2={SID2}&amp;date={day}&amp;page={n}" class="nclicks(fls.page)">{n}</a>\n'
        for n in range(1, last_page + 1)
    )
    charset = "euc-kr" if euc_kr else "utf-8"
    return f"""<!DOCTYPE HTML>
<html lang="ko">
<head>
<meta charset="{charset}">
<title>건강정보 : 네이버 뉴스</title>
</head>
<body>
<div class="list_header newsflash_header"><h3>건강정보</h3></div>
<div class="list_body newsflash_body">
{ul}</div>
<div class="paging">
{pages}</div>
<div class="pagenavi_day"><span class="viewday">{day}</span></div>
</body>
</html>
"""


EMPTY_OLD = """<!DOCTYPE HTML>
<html lang="ko">
<head><meta charset="utf-8"><title>건강정보 : 네이버 뉴스</title></head>
<body>
<div class="list_header newsflash_header"><h3>건강정보</h3></div>
<div class="list_body newsflash_body">
<div class="no_content"><p>선택한 날짜에 등록된 기사가 없습니다.</p></div>
</div>
<div class="paging">
<strong>1</strong>
</div>
</body>
</html>
"""


def new_items(items) -> str:
    out = []
    for a in items:
        out.append(
            f"""<li class="sa_item _SECTION_HEADLINE"><div class="sa_item_inner"><div class="sa_item_flex">
<div class="sa_text"><a href="{a["list_link"]}" class="sa_text_title _NLOG_IMPRESSION"><strong class="sa_text_strong">{html.escape(a["title"], quote=False)}</strong></a>
<div class="sa_text_lede">{html.escape(" ".join(a["paragraphs"][0])[:60], quote=False)}</div>
<div class="sa_text_info"><div class="sa_text_info_left"><div class="sa_text_press">{PRESS[a["oid"]][0]}</div></div></div></div>
</div></div></li>
"""
        )
    return "".join(out)


def new_container(items, has_next: bool, cursor: str) -> str:
    flag = "true" if has_next else "false"
    return (
        f'<div class="section_latest_article _CONTENT_LIST _PERSIST_META" data-template-id="SECTION_ARTICLE_LIST_FOR_LATEST" '
        f'data-has-next="{flag}" data-cursor-name="next" data-cursor="{cursor}">\n<ul class="sa_list">\n{new_items(items)}</ul>\n</div>'
    )


def new_list_page(items, has_next, cursor) -> str:
    return f"""<!DOCTYPE html>
<html lang="ko">
<head><meta charset="utf-8"><title>건강정보 : 네이버 뉴스</title></head>
<body>
<div class="section_latest"><h3 class="section_title">건강정보 최신 뉴스</h3>
{new_container(items, has_next, cursor)}
<div class="section_more"><a href="#" class="section_more_inner _CONTENT_LIST_LOAD_MORE_BUTTON">기사 더보기</a></div>
</div>
</body>
</html>
"""


def main() -> None:
    out = HERE
    for sub in ("old", "new", "articles"):
        for f in (out / sub).rglob("*"):
            if f.is_file():
                f.unlink()
    topics = list(TOPICS)
    plan = [("20201228", 8, "901"), ("20201229", 24, "902"), ("20201231", 10, "904"), ("20210101", 4, "903")]
    articles: dict[str, list[dict]] = {}
    serial = 100
    for day, count, oid in plan:
        articles[day] = []
        for i in range(count):
            title, kw, specific = topics.pop(0)
            serial += 1
            reporter = REPORTERS[serial % len(REPORTERS)]
            the_oid = oid if day != "20201229" else ("902" if i % 2 == 0 else "903")
            aid = f"{serial:010d}"
            a = dict(
                oid=the_oid,
                aid=aid,
                title=title,
                paragraphs=sentences_for((title, kw, specific)),
                time=datetime.strptime(day, "%Y%m%d").replace(hour=7 + (i * 37 % 12), minute=(i * 13) % 60),
                reporter=reporter,
                reporter_mail=f"reporter{serial}@{PRESS[the_oid][1]}.example",
                has_photo=i % 3 == 0,
            )
            if day == "20201228":
                a["list_link"] = (
                    f"https://news.naver.com/main/read.nhn?mode=LS2D&amp;mid=shm&amp;sid1={SID1}&amp;sid2={SID2}&amp;oid={the_oid}&amp;aid={aid}"
                )
                page, encoding = legacy_article(a), "cp949"
            elif day == "20201229":
                a["list_link"] = (
                    f"https://news.naver.com/main/read.naver?mode=LS2D&amp;mid=shm&amp;sid1={SID1}&amp;sid2={SID2}&amp;oid={the_oid}&amp;aid={aid}"
                )
                page, encoding = current_article(a, "div"), "utf-8"
            else:
                a["list_link"] = f"https://n.news.naver.com/mnews/article/{the_oid}/{aid}?sid={SID1}"
                page, encoding = current_article(a, "article"), "utf-8"
            (out / "articles").mkdir(parents=True, exist_ok=True)
            (out / "articles" / f"{the_oid}_{aid}.html").write_bytes(page.encode(encoding))
            articles[day].append(a)
    assert not topics or len(topics) >= 0

    def write(path: Path, text: str, encoding="utf-8"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))

    # 2020-12-28: EUC-KR, one page
    write(out / "old/20201228/page1.html", old_list_page("20201228", articles["20201228"], 1, 1, True), "cp949")
    # 2020-12-29: two pages; page 2 repeats one link of page 1 and one of the day before
    d = articles["20201229"]
    write(out / "old/20201229/page1.html", old_list_page("20201229", d[:20], 1, 2, False))
    write(
        out / "old/20201229/page2.html",
        old_list_page("20201229", d[20:] + [d[3], articles["20201228"][0]], 2, 2, False),
    )
    # 2020-12-30: empty day
    write(out / "old/20201230/page1.html", EMPTY_OLD)
    write(out / "old/empty.html", EMPTY_OLD)
    # 2020-12-31: new generation, cursor paging over JSON fragments
    d = articles["20201231"]
    write(out / "new/20201231/list.html", new_list_page(d[:4], True, "20201231180000"))
    write(
        out / "new/20201231/more-20201231180000.json",
        json.dumps(
            {"renderedComponent": {"SECTION_ARTICLE_LIST_FOR_LATEST": new_container(d[4:8], True, "20201231120000")}},
            ensure_ascii=False,
        ),
    )
    write(
        out / "new/20201231/more-20201231120000.json",
        json.dumps(
            {"renderedComponent": {"SECTION_ARTICLE_LIST_FOR_LATEST": new_container(d[8:], False, "20201231120000")}},
            ensure_ascii=False,
        ),
    )
    # 2021-01-01: one page; a broken article and a missing one (404)
    d = articles["20210101"]
    broken = dict(
        d[0],
        aid="0000000399",
        oid="904",
        title="레이아웃이 바뀐 기사",
        list_link=f"https://n.news.naver.com/mnews/article/904/0000000399?sid={SID1}",
    )
    missing = dict(
        d[0],
        aid="0000000404",
        oid="904",
        title="삭제된 기사",
        list_link=f"https://n.news.naver.com/mnews/article/904/0000000404?sid={SID1}",
    )
    write(out / "articles/904_0000000399.html", BROKEN)
    write(out / "new/20210101/list.html", new_list_page(d[:2] + [broken] + d[2:] + [missing], False, "20210101000000"))
    write(out / "new/empty.html", new_list_page([], False, ""))

    manifest = {
        "start": "2020-12-28",
        "end": "2021-01-01",
        "articles": sorted(f"naver:{a['oid']}:{a['aid']}" for day in articles.values() for a in day),
        "broken": ["naver:904:0000000399"],
        "missing": ["naver:904:0000000404"],
        "euc_kr_day": "2020-12-28",
        "empty_day": "2020-12-30",
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    write(out / "robots.txt", "# kmb replay site: crawling allowed, politely\nUser-agent: *\nAllow: /\n")
    write(out / "robots-disallow.txt", "# like news.naver.com today\nUser-agent: *\nDisallow: /\n")
    print(f"{len(manifest['articles'])} articles written to {out}")


if __name__ == "__main__":
    main()
