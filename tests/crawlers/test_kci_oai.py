"""OAI-PMH parsing (kmb.crawlers.kci_oai): both formats, any prefixes, errors, selection."""

from pathlib import Path

import pytest

from kmb.crawlers.kci_oai import (
    JournalSelection,
    NotOaiPmh,
    parse_response,
    read_journal_selection,
    record_document,
    skip_reason,
)
from kmb.demo.oai_server import OaiResponder

REPO = Path(__file__).resolve().parents[2]

# oai_kci with unusual prefixes everywhere: only namespace URIs may matter.
KCI_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<o:OAI-PMH xmlns:o="http://www.openarchives.org/OAI/2.0/">
 <o:responseDate>2024-01-01T00:00:00Z</o:responseDate>
 <o:ListRecords>
  <o:record><o:header><o:identifier>oai:kci.go.kr:ARTI/42</o:identifier><o:datestamp>2021-05-01</o:datestamp><o:setSpec>ARTI</o:setSpec></o:header>
   <o:metadata><k:oai_kci xmlns:k="http://www.kci.go.kr/kciportal/OAI/">
    <k:journalInfo><k:journal-name>가상의학회지</k:journal-name><k:pissn>12345678</k:pissn><k:pub-year>2015</k:pub-year></k:journalInfo>
    <k:articleInfo article-id="ART001234567"><k:article-categories>의약학 &gt; 내과학</k:article-categories>
     <k:title-group><k:article-title lang="original">폐렴의 치료</k:article-title><k:article-title lang="english">Treating pneumonia</k:article-title></k:title-group>
     <k:abstract-group><k:abstract lang="english">English first.</k:abstract><k:abstract lang="original"><![CDATA[폐렴은 흔하다. 항생제로 치료한다.]]></k:abstract></k:abstract-group>
     <k:language>kor</k:language><k:orte-open-yn>Y</k:orte-open-yn><k:doi>10.1/abc</k:doi><k:url>https://example.org/a</k:url>
    </k:articleInfo></k:oai_kci></o:metadata></o:record>
  <o:record><o:header status="deleted"><o:identifier>oai:kci.go.kr:ARTI/43</o:identifier><o:datestamp>2021-05-02</o:datestamp></o:header></o:record>
  <o:resumptionToken completeListSize="250" cursor="0">tok-2</o:resumptionToken>
 </o:ListRecords>
</o:OAI-PMH>"""

DC_PAGE = """<?xml version="1.0"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01</responseDate><ListRecords>
 <record><header><identifier>oai:repo.example:99</identifier><datestamp>2020-01-01</datestamp></header>
  <metadata><x:dc xmlns:x="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:d="http://purl.org/dc/elements/1.1/">
   <d:title xml:lang="en">Sleep and obesity</d:title><d:title xml:lang="ko">수면과 비만</d:title>
   <d:description xml:lang="ko">수면이 짧으면 비만 위험이 높다. 청소년을 조사하였다.</d:description>
   <d:description xml:lang="en">Short sleep raises obesity risk.</d:description>
   <d:source>가상보건학회지</d:source><d:source>ISSN: 2345-6789</d:source><d:date>2019-03</d:date>
   <d:identifier>https://doi.org/10.5555/xyz</d:identifier><d:subject>보건학</d:subject>
  </x:dc></metadata></record>
 <resumptionToken/>
</ListRecords></OAI-PMH>"""


def test_oai_kci_record_with_any_prefixes():
    page = parse_response(KCI_PAGE.encode())
    assert page.resumption_token == "tok-2" and page.complete_list_size == 250 and not page.errors
    record, deleted = page.records
    assert deleted.deleted and deleted.identifier == "oai:kci.go.kr:ARTI/43"
    assert (record.metadata_format, record.article_id, record.journal, record.issn, record.year) == (
        "oai_kci",
        "ART001234567",
        "가상의학회지",
        "1234-5678",
        2015,
    )
    assert (record.title, record.title_en) == ("폐렴의 치료", "Treating pneumonia")
    assert record.abstract_ko == "폐렴은 흔하다. 항생제로 치료한다." and record.abstract_en == "English first."
    assert record.language == "ko" and record.open_access is True and record.doi == "10.1/abc"
    doc = record_document(record)
    assert doc["doc_id"] == "kci:ART001234567" and doc["text"] == record.abstract_ko and doc["fulltext_chars"] == 0
    assert skip_reason(record, JournalSelection(), (2010, 2020)) is None
    assert skip_reason(record, JournalSelection(), (2016, 2020)) == "outside years"
    assert skip_reason(deleted, JournalSelection(), None) == "deleted"


def test_oai_dc_with_xml_lang_and_empty_final_token():
    page = parse_response(DC_PAGE.encode())
    assert page.resumption_token is None
    [record] = page.records
    assert record.metadata_format == "oai_dc"
    assert (record.title, record.title_en, record.journal, record.issn, record.year, record.doi) == (
        "수면과 비만",
        "Sleep and obesity",
        "가상보건학회지",
        "2345-6789",
        2019,
        "10.5555/xyz",
    )
    assert record.abstract_ko.startswith("수면이 짧으면") and record.language == "ko"  # from the text: no dc:language
    assert record_document(record)["doc_id"] == "kci:99"


def test_errors_and_not_oai():
    page = parse_response(
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="badResumptionToken">expired</error></OAI-PMH>'
    )
    assert [(e.code, e.message) for e in page.errors] == [("badResumptionToken", "expired")]
    with pytest.raises(NotOaiPmh, match="<rss>"):
        parse_response(b"<rss><channel/></rss>")
    with pytest.raises(NotOaiPmh, match="not XML"):
        parse_response(b"<html><body>Service unavailable")
    with pytest.raises(NotOaiPmh, match="namespace"):
        parse_response(b"<OAI-PMH><error code='x'/></OAI-PMH>")  # right name, wrong (no) namespace


def test_journal_selection_by_file_and_by_subject():
    page = parse_response(KCI_PAGE.encode())
    record = page.records[0]
    assert JournalSelection().selects(record)  # 의약학 subject
    assert read_journal_selection(["# my journals", "1234-5678"]).selects(record)
    assert read_journal_selection(["가상 의학회지  # spaces do not matter"]).selects(record)
    assert not read_journal_selection(["9999-0000"]).selects(record)


def test_sample_records_cover_the_protocol_cases():
    responder = OaiResponder(page_size=10)
    first = parse_response(
        responder.respond("/oai", {"verb": "ListRecords", "metadataPrefix": "oai_kci", "set": "ARTI"})
    )
    assert len(first.records) == 10 and first.resumption_token and first.complete_list_size == 27
    korean = [r for r in first.records if r.abstract_ko]
    assert all(3 <= r.abstract_ko.count(".") <= 6 for r in korean)
    dc = parse_response(responder.respond("/oai", {"verb": "ListRecords", "metadataPrefix": "oai_dc"}))
    assert [r.abstract_ko for r in dc.records] == [r.abstract_ko for r in first.records]
    assert [record_document(r)["doc_id"] for r in dc.records if r.abstract_ko] == [
        record_document(r)["doc_id"] for r in korean
    ]

    def codes(body):
        return [e.code for e in parse_response(body).errors]

    assert codes(responder.respond("/oai-dc-only", {"verb": "ListRecords", "metadataPrefix": "oai_kci"})) == [
        "cannotDisseminateFormat"
    ]
    assert codes(responder.respond("/oai", {"verb": "ListRecords"})) == ["badArgument"]
    assert codes(
        responder.respond("/oai", {"verb": "ListRecords", "metadataPrefix": "oai_kci", "from": "2031-01-01"})
    ) == ["noRecordsMatch"]
    assert codes(responder.respond("/oai", {"verb": "ListRecords", "resumptionToken": "bogus!"})) == [
        "badResumptionToken"
    ]
