"""Person names in Korean notes: found by the words around them, checked against medical words.

A Korean name is a surname (one syllable, or one of the two-syllable ones: 남궁, 선우, 제갈, 황보 ...)
and a given name of one or two syllables, often written against the next word ("김민수님",
"박지훈교수"). A bare syllable pair says nothing by itself (정상, 고혈압 and 조영제 all begin with a
surname), so a name is only taken where the context says "person":

- after a label: 성명 / 이름 / 환자명 / 보호자 / 주치의 ... (with or without a colon);
- before a role word: 님, 씨, 환자, 보호자, 교수, 선생님, 간호사, 담당의 ...;
- after a role word, when a name-like ending follows (a particle, "(", ",", the end of the line).

Every candidate must pass :func:`looks_like_name`: a known surname, given-name syllables that names
use, and not a medical or everyday word (:data:`NOT_NAMES`, plus any words the caller adds, e.g.
the workspace's term lists). A name found once is then found everywhere else in the same document
(:func:`name_spans` propagates it), which reaches mentions without a role word.
"""

from __future__ import annotations

import re

from kmb.deid.patterns import contains_any, finditer_near

DOUBLE_SURNAMES = ("남궁", "선우", "제갈", "황보", "독고", "사공", "서문", "동방", "어금", "망절", "탁지")
SURNAMES = set(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감호제음빈동온시범좌팽승간상갈단견당화창옹순빙"
)
# Syllables of given names (common ones; a rare one loses only the role-free propagation).
GIVEN_SYLLABLES = set(
    "가각간갑강끝둘말분점쁜례개건걸겸경계고곤공관광교구국군권규균근금기길나남내녀년노누늘다단담당대덕도돈동두득라란람랑래량려련렬령례로록론룡루류륜률리린림마만매명모목몽무문미민바박반방배백범법벽변별병보복본봉부분비빈빛사산삼상새샘생서석선설섬성세소솔송수숙순술숭슬승시식신실심아안애야양어억언엄업연열염엽영예오옥온완왕요용우욱운웅원월위유윤율은을음응의이익인일임자작장재저전정제조종주준중지직진찬창채천철초촌총추춘충치칠탁태택파판평포표풍필하학한해향허헌혁현혜호홍화환활황회효후훈휘희"
)
# Roles written after a name ("김민수님", "박지훈 교수", "최수진 간호사가").
ROLES_AFTER = (
    "선생님",
    "교수님",
    "간호사님",
    "원장님",
    "과장님",
    "보호자님",
    "환자분",
    "환자님",
    "님",
    "씨",
    "환자",
    "보호자",
    "교수",
    "선생",
    "간호사",
    "담당의",
    "주치의",
    "전공의",
    "전임의",
    "레지던트",
    "인턴",
    "원장",
    "과장",
    "의사",
    "약사",
    "여사",
    "어머니",
    "아버지",
    "어머님",
    "아버님",
    "할머니",
    "할아버지",
    "부인",
    "남편",
    "아들",
    "딸",
    "학생",
    "팀장",
    "실장",
    "수간호사",
    "치료사",
    "기사",
    "방사선사",
    "영양사",
    "사회복지사",
    "코디네이터",
    "드림",
    "올림",
    "R1",
    "R2",
    "R3",
    "R4",
    "RN",
    "PA",
    "전문의",
    "주임",
    "소장",
    "조산사",
)
# Labels after which a name follows (with a colon, a table bar or a space).
LABELS = (
    "환자성명",
    "환자명",
    "환자 이름",
    "환자 성명",
    "성명",
    "이름",
    "보호자명",
    "보호자 성명",
    "담당의사",
    "담당의",
    "주치의",
    "담당간호사",
    "담당 간호사",
    "작성자",
    "기록자",
    "작성의",
    "의뢰의사",
    "의뢰의",
    "회신의",
    "판독의",
    "집도의",
    "마취의",
    "제1조수",
    "제2조수",
    "조수",
    "담당교수",
    "담당 교수",
    "서명",
    "수신",
    "참조",
    "신청인",
    "대리인",
    "대상자",
    "통역",
    "사회복지사",
    "전공의",
    "전임의",
    "Name",
    "NAME",
    "name",
    "Patient",
    "Dr.",
    "Dr",
    # jobs done by a person, as notes sign them (처방의: …, 채혈자 …)
    "처방의",
    "평가의",
    "시술의",
    "확인자",
    "인계자",
    "인수자",
    "채혈자",
    "수검자",
    "보조의",
    "제1보조의",
    "제2보조의",
    "담당 조산사",
    "예금주",
    "연대보증인",
    "보증인",
    "전화 건 사람",
    "Surgeon",
    "Assistant",
    "Provider",
    "Signed",
    "Caller",
    "Interpreter",
    "Pt name",
    "Patient name",
    "Mr",
    "Ms",
    "Mrs",
)
# Words that introduce a name only when the name is set off after them ("환자: 김민수", "딸 이영희
# (010-...)", "환자 김민수(M/45)", but not "환자 진술상", "딸 기준").
WEAK_LABELS = (
    "환자",
    "보호자",
    "간호사",
    "교수",
    "의사",
    "판독",
    "대상",
    "담당",
    "주 보호자",
    "손녀",
    "손자",
    "딸",
    "아들",
    "사위",
    "며느리",
    "배우자",
    "남편",
    "아내",
    "부인",
    "어머니",
    "아버지",
    "모친",
    "부친",
    "동생",
    "누나",
    "언니",
    "오빠",
    "조카",
    "장남",
    "장녀",
    "차남",
    "차녀",
    "엄마",
    "아빠",
    "산모",
    "환아",
    "간병인",
    "처리자",
    "발견자",
    "면담의",
    "청구인",
    "피보험자",
    "인계",
    "인수",
    "의뢰",
    "회신",
    "접수",
    "수납",
    "정보 제공",
    "확인 약사",
    "담당 치료사",
    "분류 간호사",
    "설명 의사",
    "From",
    # relations and roles written before a name that is set off after it ("부 하동균,", "모 연다빈")
    "모",
    "부",
    "본인",
    "동반",
    "동거인",
    "남자친구",
    "여자친구",
    "친구",
    "당직",
    "간호",
    "약사",
    "확인",
    "치료사",
    "조산사",
    "Pt",
    "pt",
    "patient",
    "wife",
    "Wife",
    "husband",
    "Husband",
    "daughter",
    "Daughter",
    "son",
    "Son",
    "mother",
    "Mother",
    "father",
    "Father",
    "pharmacist",
    "RN",
    "Contact",
    "R1",
    "R2",
    "R3",
    "R4",
)
# Endings that may follow a name directly: particles, so that "김민수는" and "김민수와" end the name.
_PARTICLES = r"(?:입니다|이에요|이고요|이고|이며|예요|께서|에게|에서|한테|으로|이가|이는|이를|이의|이와|이랑|씨|은|는|이|가|을|를|의|와|과|도|만|로|랑|께)"

# Words a role word often follows or precedes that begin with a surname and are not names.
NOT_NAMES = frozenset(
    """
고혈압 고지혈증 고열 고령 고위험 고용량 고관절 고칼륨혈증 고혈당 고도 고정 고통 고름 고막
신부전 신장 신장암 신경 신경과 신체 신생아 신규 신환 신속 신증후군 신우신염 신장염
유방암 유방 유방염 유아 유산 유지 유착 유전 유전자 유증상 유의 유병
정상 정신 정신과 정맥 정형외과 정밀 정도 정기 정규 정서 정상인 정량 정보 정액 정지
조영제 조영 조직 조기 조절 조현병 조산 조산아 조치 조사 조혈 조심 조금
이상 이송 이동 이후 이전 이외 이식 이완 이명 이뇨 이뇨제 이환 이력 이물 이학적 이해 이번 이미 이하 이내 이유 이용 이틀 이상자
전신 전혈 전원 전문의 전립선 전립선암 전해질 전반 전체 전후 전날 전방 전과 전처치 전신마취
한쪽 한번 한약 한방 한랭 한계 한달 한동안
안정 안과 안압 안면 안구 안전 안내 안정제
오른쪽 오한 오심 오늘 오전 오후 오연 오염
우측 우울 우울증 우상복부 우하복부
좌측 하지 하복부 하루 하혈 하부 하강
방광 방광염 방사선 방문 방치 방향 방법
배뇨 배변 배액 배꼽 배부 배양
진료 진단 진통제 진정 진행 진찰 진균 진료과
장기 장염 장애 장폐색 장내 장시간 장루
강직 강도 강화
구토 구역 구강 구급 구급차
주사 주의 주기 주증상 주호소 주간 주치 주말
최근 최대 최소 최종 최초
심장 심전도 심박 심부전 심근 심근경색 심정지 심폐 심한 심하게 심해짐 심각
임상 임신 임산부 임의 임시
양성 양측 양호 양상 양쪽 양수
성인 성별 성장 성공
소변 소아 소견 소화 소량 소실 소양감
호흡 호전 호소 호흡곤란
황달 변비 변화 변형
문진 문제 문의
손상 손목 손가락
허리 허혈 허약
나이 남성 노인 노화
마비 마취 마약
여부 여성 여러
연령 연하 연속
육안 윤활
차트 차이 차도 차단
권고 권유
서맥 서서히
송부 송출
민감 민감도
지속 지연 지시 지혈 지난 지표
엄지 원인 원발 원내 원외 공복 공급 현재 현증 함께 표준 명확 기능 기침 기저 기타 기관 기관지
반복 반응 반대 왕진 금식 금기 인두 인후 인공 제거 제한 모든 국소 예정 예후 경과 경구 경우 경증
봉합 부종 부작용 부위 부분 가슴 가래 가족 복부 복통 복용 태아 목표 형태 두통 두드러기 감염 감소
호전됨 시행 시술 범위 동반 동의 온도 승인 간호 간헐적 간경화 상태 상처 상복부 단계 단백 당뇨 당일
연락처 연락 주소 전화 전화번호 당겨 당기 동행 동생 우편 서류 성별 기록 기록지 설명 기준 내용 사유 이후 완료
화상 창상 순환 빈혈 빈맥 탁월 석회화 선별 설사 마른 길이 연고 위험 위치 위장 위암 위염 표시
당뇨병 화장실 현장 병실 복도 공사 현장감
""".split()
)

# Compiled once. A candidate is a surname and one or two more syllables; how much else it must
# satisfy depends on the context that found it (:func:`looks_like_name`).
_SURNAME = "(?:" + "|".join(DOUBLE_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])"
_CANDIDATE = r"(" + _SURNAME + r"(?:(?![님씨])[가-힣]){1,2})"  # 님, 씨 end a name, never continue it
# A foreign patient's name after a label: "Maria Santos", or a passport's "O'BRIEN, LIAM".
_LATIN_NAME = r"([A-Z][A-Za-z'\-]+(?: [A-Z][A-Za-z'\-]+){1,3}|[A-Z][A-Z'\-]+, [A-Z][A-Za-z'\-]+(?: [A-Z][A-Za-z'\-]+)?)"
_ROLE_AFTER = "(?:" + "|".join(sorted(ROLES_AFTER, key=len, reverse=True)) + r"|\(인\))"
_LABEL = "(?:" + "|".join(re.escape(x) for x in sorted(LABELS, key=len, reverse=True)) + ")"
_WEAK_LABEL = "(?:" + "|".join(sorted(WEAK_LABELS, key=len, reverse=True)) + ")"
_GAP = r"\s*(?:[:：|(]\s*|\s)"  # label, then a colon, a table bar, a bracket or a space
_NAME_END = r"(?=" + _PARTICLES + r"?(?:[^가-힣]|$))"
_MENTION_END = re.compile(r"(?:" + _PARTICLES + r"?(?:[^가-힣]|$)|\s?" + _ROLE_AFTER + ")")
# Age and sex after a name: "(M/45)", "(45/F)", "(남/58세)", "38/F", "(78.06.28, 46세)".
_AGE_SEX = (
    r"(?=\s?\(?(?:[MF남여]\s?/\s?\d{1,3}세?|\d{1,3}세?\s?/\s?[MF남여]|[\d.]{6,10},\s?\d{1,3}세)\)?"
    r"|\s?\((?:[MF남여]|남자|여자|\d{1,3}세)\s?,"
    r"|\s?/\s?(?:만\s?\d{1,3}세|'?\d{2,4}년생)"  # "위상범 / 만 75세", "지범철 / 23년생"
    r"|/[MF]/\d{1,3})"  # "조민재/M/55"
)
_SET_OFF = r"(?=\s?[(),./|→<'·]|\s\d|\s{2,}|님|씨|(?:입니다|께서|에게|이가|이는|은|는|이|가|와|과|의|께)\s|(?:이)?라고|[ \t]*$)"
_DEPARTMENT = r"[가-힣]{1,8}(?:과|센터|병동|실)"

_FIRST_SURNAME = "(?=[" + "".join(sorted(SURNAMES | {d[0] for d in DOUBLE_SURNAMES})) + "])"  # see patterns._first


def _first_of(words) -> str:
    return "(?=[" + re.escape("".join(sorted({w[0] for w in words}))) + "])"


BEFORE_ROLE = re.compile(
    _FIRST_SURNAME + r"(?<![가-힣])" + _CANDIDATE + r"\s?(" + _ROLE_AFTER + r")(?:(?![가-힣])|(?=" + _PARTICLES + r"))"
)
# A label's context: the label (not inside a word), then a name; a weak label's: a colon or bar, then a name.
_LABELLED = (
    r"(?<![가-힣A-Za-z])" + _LABEL + r"\.?(?:은|는)?" + _GAP + r"(?:" + _CANDIDATE + _NAME_END + "|" + _LATIN_NAME + ")"
)
_WEAK_COLON = r"(?<![가-힣])" + _WEAK_LABEL + r"\s*[:：|]\s*" + _CANDIDATE + _NAME_END
AFTER_LABEL = re.compile(_first_of(LABELS + WEAK_LABELS) + "(?:" + _LABELLED + "|" + _WEAK_COLON + ")")
# For a text that can hold only one of the two (prose seldom has a label; a text without a colon
# or a bar has no "환자: ..."), that one alone.
_AFTER_LABEL_ONLY = re.compile(_first_of(LABELS) + _LABELLED)
_AFTER_WEAK_LABEL_COLON = re.compile(_first_of(WEAK_LABELS) + _WEAK_COLON)
_HAS_LABEL = contains_any(LABELS)
AGE_SEX = re.compile(_FIRST_SURNAME + r"(?<![가-힣])" + _CANDIDATE + _AGE_SEX)
DEPARTMENT = re.compile(
    r"(?<![가-힣])" + _DEPARTMENT + r"\s?/\s?" + _CANDIDATE + _NAME_END + "|"
    r"(?<![가-힣])"
    + _DEPARTMENT
    + r"[ \t]"
    + _CANDIDATE
    + r"(?=[ \t]?[→(,]|[ \t]{2,}|[ \t]*$)|"  # "내분비내과 현남진 →"
    r"(?<![가-힣])" + _CANDIDATE + r"\s?/\s?" + _DEPARTMENT + "(?![가-힣])"
)
AFTER_WEAK_LABEL = re.compile(
    _first_of(WEAK_LABELS) + r"(?<![가-힣])(" + _WEAK_LABEL + r")\s" + _CANDIDATE + _SET_OFF + "|"
    r"^[ \t]*(" + _WEAK_LABEL + r")[ \t]+" + _CANDIDATE + r"[ \t]*$",
    re.MULTILINE,
)  # a header line
# The same without the header line, for the texts that have none (most): a line-start test at
# every position costs more than the quick searches of _has_header_line.
_HEADER_LINE = re.compile(r"[ \t]*" + _WEAK_LABEL + r"[ \t]")  # at a line start: see _has_header_line
_HEADER_LINE_LATER = re.compile(r"\n[ \t]*" + _WEAK_LABEL + r"[ \t]")  # a literal first: a quick search
_AFTER_WEAK_LABEL_INLINE = re.compile(
    _first_of(WEAK_LABELS) + r"(?<![가-힣])(" + _WEAK_LABEL + r")\s" + _CANDIDATE + _SET_OFF, re.MULTILINE
)
# Labels of a job done by a person (처리자, 면담의 ...): the name after them is a role-strength context.
JOB_LABELS = frozenset(
    "간병인 처리자 발견자 면담의 청구인 피보험자 인계 인수 의뢰 회신 접수 수납 산모 환아 From".split()
    + ["확인 약사", "담당 치료사", "분류 간호사", "설명 의사", "정보 제공"]
)
# A foreign patient's name spelled in Hangul, in words, after a name label ("성명: 마리아 산토스").
SPELLED_NAME = re.compile(
    r"(?:성명|이름|환자명|환자 성명|Name)\s*[:：]\s*([가-힣]{1,4}(?: [가-힣]{1,4}){1,2})(?=[ \t]{2,}|[ \t]*$|\s?\()",
    re.MULTILINE,
)
_ROLE_ANCHOR = re.compile(_ROLE_AFTER)
# Anchors written as alternatives that each start with a literal or a set of characters, so that
# the regex engine skips the others at once (the same matches as "[MF남여]\s?/|/\s?[MF남여]|\d세|
# \((?:[MF남여]|남자|여자)\s?,|\d년생" and "(?:과|센터|병동|실)[ \t]?[/ \t]|/[ \t]?…").
_AGE_SEX_ANCHOR = re.compile(r"[MF남여]\s?/|/\s?[MF남여]|\((?:[MF남여]|남자|여자)\s?,|\d(?:세|년생)")
# Without its digit alternative (for texts with no "45세" or "85년생"), every alternative starts
# with a literal: the engine then skips to those characters at once.
_AGE_BESIDE_DIGIT = re.compile(r"\d(?:세|년생)")
_SEX_ANCHOR = re.compile(r"M\s?/|F\s?/|남\s?/|여\s?/|/\s?[MF남여]|\((?:[MF남여]|남자|여자)\s?,")
_DEPARTMENT_ANCHOR = re.compile(
    r"과[ \t]?[/ \t]|센터[ \t]?[/ \t]|병동[ \t]?[/ \t]|실[ \t]?[/ \t]|/[ \t]?[가-힣]{1,8}(?:과|센터|병동|실)"
)
_SLASH_BESIDE_HANGUL = re.compile(r"[가-힣]\s?/\s?[가-힣]")
SIGNATURE = re.compile(
    r"[-–—/](?<!\S[-–—/])[ \t]?" + _CANDIDATE + r"(?=[ \t]*(?:[(\[]|$))",  # "- 김민수 (CCU)", "— 김민수 [ID"
    re.MULTILINE,
)
# A line that opens with a name, then age and sex: "하윤슬 68세 남. 파킨슨병" (a known word is not a name).
AGE_LINE = re.compile(r"^[ \t]*" + _CANDIDATE + r"(?=[ \t]\d{1,3}세[ \t]?(?:남|여)(?:자|성)?(?![가-힣]))", re.MULTILINE)
# A numbered hand-over list: "1. 김민수 - ARDS, prone position".
LIST_ITEM = re.compile(r"^[ \t]*\d{1,2}[.)][ \t]*" + _CANDIDATE + r"(?=[ \t]+[-–—][ \t])", re.MULTILINE)
TRAILING_NAME = re.compile(r"(?<=[.다함음]\s)" + _CANDIDATE + r"\s*\Z")  # "... 구내염 없음. 함형결" at the very end
# A ward list: a table row with a name cell beside an id cell or an age/sex cell.
TABLE_ROW = re.compile(r"^\|.*\|[ \t]*$", re.MULTILINE)
_CELL_NAME = re.compile(r"^\s*" + _CANDIDATE + r"\s*$")
_CELL_PERSON = re.compile(r"^\s*(?:\d{1,3}\s?/\s?[MF남여]|[MF남여]\s?/\s?\d{1,3}|[A-Z]{0,2}\d{6,10})\s*$")
# Roles that also follow diagnoses ("고혈압 환자"): the name must then not be a known word.
WEAK_ROLES = frozenset({"환자", "환자분", "환자님", "보호자", "보호자님", "학생"})

# Words of the contexts themselves and titles, never names whatever the context ("선생님" is not
# 선생 + 님, nor "이사님" 이사 + 님).
ROLE_WORDS = (
    frozenset(ROLES_AFTER)
    | frozenset(LABELS)
    | frozenset(WEAK_LABELS)
    | frozenset(
        """
선생 교수 간호 보호 담당 주치 원장 과장 환자 의사 전공 인턴 약사 기사 팀장 실장 부장 소장 사장 이사 반장 선배 후배
모름 미상 불명 없음 고객 주임 대리 차장 계장 간병인 수녀 신부 목사 회장 총장 학장 병원장 상기 여자 남자 본인 해당 당해 모두 각각
안과 치과 내과 외과 신경과 정신과 피부과 소아과 성형외과 마취과 방사선과 진단검사 가정의학 재활의학 응급의학
""".split()
    )
)

_DOUBLE_SURNAMES = frozenset(DOUBLE_SURNAMES)
STRONG, ROLE, WEAK = "strong", "role", "weak"  # how much the context says "a person"


def looks_like_name(candidate: str, not_names: frozenset[str] | set[str] = frozenset(), context: str = WEAK) -> bool:
    """Whether `candidate` can be a name, given how strongly its context says so:

    - strong (a label with a colon or bar, age and sex after it): any syllables after a surname;
    - role (a role word or title after it, a relation in brackets): the same, and not a known word;
    - weak (before 환자/보호자, a label without a colon, a signature line): also given-name
      syllables that names use.
    """
    if candidate in ROLE_WORDS or (candidate[-1] in "이가은는을를의와과도" and candidate[:-1] in ROLE_WORDS):
        return False  # "엄마가" is 엄마 and a particle, not a name
    if context != STRONG and (candidate in NOT_NAMES or candidate in not_names):
        return False
    if candidate[:2] in _DOUBLE_SURNAMES and len(candidate) > 2:
        given = candidate[2:]
    elif candidate[0] not in SURNAMES:
        return False
    else:
        given = candidate[1:]
    if not 1 <= len(given) <= 2:
        return False
    return context != WEAK or all(s in GIVEN_SYLLABLES for s in given)


def name_spans(text: str, not_names: frozenset[str] | set[str] = frozenset()) -> list[tuple[int, int, str]]:
    """(start, end, "NAME") of each name in `text`, mentions of a found name included."""
    found: dict[tuple[int, int], str] = {}
    for match in finditer_near(BEFORE_ROLE, text, _ROLE_ANCHOR, 8, 12):
        _take(found, match, 1, not_names, WEAK if match.group(2) in WEAK_ROLES else ROLE)
    after_label, latin_group = _after_label(text)
    for match in after_label.finditer(text) if after_label else ():
        group = next(g for g in range(1, after_label.groups + 1) if match.group(g))
        _take(found, match, group, not_names, STRONG, group == latin_group)
    age_sex_anchor = _AGE_SEX_ANCHOR if _AGE_BESIDE_DIGIT.search(text) else _SEX_ANCHOR
    for match in finditer_near(AGE_SEX, text, age_sex_anchor, 24, 14):
        _take(found, match, 1, not_names, STRONG)
    for match in finditer_near(DEPARTMENT, text, _DEPARTMENT_ANCHOR, 14, 12):
        _take(found, match, next(g for g in (1, 2, 3) if match.group(g)), not_names, ROLE)
    after_weak_label = AFTER_WEAK_LABEL if _has_header_line(text) else _AFTER_WEAK_LABEL_INLINE
    for match in after_weak_label.finditer(text):  # "보호자 조영(배우자)": a relation in brackets is a role
        label, group = (match.group(1), 2) if match.group(2) else (match.group(3), 4)
        bracket = text[match.end(group) : match.end(group) + 2].lstrip()[:1] == "("
        _take(found, match, group, not_names, ROLE if bracket or label in JOB_LABELS else WEAK)
    for match in SPELLED_NAME.finditer(text):
        span = match.span(1)
        if all(span[1] <= s or span[0] >= e for s, e in found) and match.group(1) not in ROLE_WORDS:
            found[span] = match.group(1)
    for match in SIGNATURE.finditer(text):
        _take(found, match, 1, not_names, WEAK)
    for match in AGE_LINE.finditer(text) if "세" in text else ():
        _take(found, match, 1, not_names, ROLE)
    for match in LIST_ITEM.finditer(text) if "-" in text or "–" in text or "—" in text else ():
        _take(found, match, 1, not_names, WEAK)
    trailing = TRAILING_NAME.search(text, max(0, len(text) - 16))
    if trailing:
        _take(found, trailing, 1, not_names, WEAK)
    for row in TABLE_ROW.finditer(text) if "|" in text else ():
        _table_row_names(found, row, not_names)
    for name in sorted(set(found.values()), key=len, reverse=True):  # the same name elsewhere in the document
        if not _is_hangul(name[0]):
            continue
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            if (start == 0 or not _is_hangul(text[start - 1])) and _MENTION_END.match(text, end):
                if all(end <= s or start >= e for s, e in found):
                    found[(start, end)] = name
            start = text.find(name, end)
    return [(start, end, "NAME") for start, end in sorted(found)]


def _table_row_names(found: dict, row: re.Match, not_names) -> None:
    """Names in the cells of a table row that also holds an id or an age/sex cell (a ward list)."""
    cells, offset = row.group(0).split("|"), row.start()
    if not any(_CELL_PERSON.match(cell) for cell in cells):
        return
    for cell in cells:
        match = _CELL_NAME.match(cell)
        if match:
            start = offset + match.start(1)
            candidate = match.group(1)
            if looks_like_name(candidate, not_names, ROLE) and all(
                start + len(candidate) <= s or start >= e for s, e in found
            ):
                found[(start, start + len(candidate))] = candidate
        offset += len(cell) + 1


def _after_label(text: str) -> tuple[re.Pattern | None, int]:
    """The pattern of :data:`AFTER_LABEL`'s contexts that `text` can hold, and its Latin-name group."""
    label, colon = _HAS_LABEL(text), ":" in text or "：" in text or "|" in text
    if label and colon:
        return AFTER_LABEL, 2
    if label:
        return _AFTER_LABEL_ONLY, 2
    return (_AFTER_WEAK_LABEL_COLON, 0) if colon else (None, 0)


def _has_header_line(text: str) -> bool:
    """Whether a line (at the start or after a newline, where ``^`` matches) begins with a weak label."""
    return bool(_HEADER_LINE.match(text) or _HEADER_LINE_LATER.search(text))


def _is_hangul(char: str) -> bool:
    return "가" <= char <= "힣"


def _take(found: dict, match: re.Match, group: int, not_names, context: str, latin: bool = False) -> None:
    span, candidate = match.span(group), match.group(group)
    if match.string[span[1] - 1 : span[1] + 1] in ("외과", "내과"):
        return  # "신경외" of 신경외과 is a department, not a name before the particle 과
    if latin or looks_like_name(candidate, not_names, context):
        if all(span[1] <= s or span[0] >= e for s, e in found if (s, e) != span):
            found[span] = candidate
