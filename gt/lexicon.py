"""Built-in Korean lexicon for the synthetic scene-text generator.

Every entry is one *word* as the ground truth counts it (no spaces), so each becomes one gt
line. The lists are grouped by where such words appear (shop signs, goods, traffic signs,
books) so a generated image reads like a real one. The generators at the end add the
patterned words OCR engines often get wrong: prices (``1,000원``), phone numbers
(``02-123-4567``), distances and quantities. Written for this project; no outside word list.
"""
from __future__ import annotations

import random

# --- signboards -------------------------------------------------------------------------

SHOP_PREFIXES: tuple[str, ...] = (
    "행복", "사랑", "우리", "한솔", "푸른", "해피", "미소", "새롬", "다온", "하나", "별빛", "소망",
    "청솔", "보람", "한빛", "늘봄", "온누리", "나무", "바다", "하늘", "종로", "명동", "신촌", "한양",
    "으뜸", "참", "큰집", "엄마손", "할매", "옛날", "원조", "본가", "감성", "제일", "황금", "동네",
    "고향", "시골", "서울", "부산", "전주", "강남", "초록", "햇살", "달빛", "우정", "만복", "정든",
)

SHOP_TYPES: tuple[str, ...] = (
    "분식", "식당", "약국", "치킨", "김밥", "마트", "슈퍼", "문구", "세탁소", "미용실", "안경",
    "부동산", "학원", "의원", "치과", "한의원", "정육점", "반찬", "떡집", "빵집", "카페", "횟집",
    "갈비", "국밥", "칼국수", "냉면", "편의점", "철물점", "꽃집", "사진관", "노래방", "당구장",
    "헬스", "태권도", "피아노", "서점", "족발", "보쌈", "곱창", "순대국", "감자탕", "닭갈비",
    "중화요리", "수산", "상회", "건강원", "공인중개사", "안과", "소아과", "내과", "피부과",
)

# Short words that stand alone on a vertical sign (one syllable per row).
VERTICAL_SIGNS: tuple[str, ...] = (
    "약국", "한의원", "노래방", "당구장", "호텔", "모텔", "여관", "미용실", "치과", "내과",
    "학원", "식당", "다방", "사우나", "목욕탕", "세탁", "수선", "열쇠", "안경", "은행", "교회",
    "주차장", "부동산", "복덕방", "이발소", "떡방앗간", "정형외과", "치킨", "맥주", "소주",
)

SIGN_EXTRAS: tuple[str, ...] = (
    "영업중", "24시", "포장", "배달", "전문점", "본점", "직영점", "신장개업", "할인", "무료주차",
    "예약", "환영합니다", "정기휴일", "휴무", "오픈", "세일", "특가", "맛집", "주차가능", "연중무휴",
    "단체환영", "배달가능", "포장할인", "점심특선", "저녁", "야식", "상담환영", "수강생모집",
    "원장직강", "진료중", "접수", "입구", "출입구", "계산대", "화장실", "금연", "당일배송",
)

LATIN_WORDS: tuple[str, ...] = (
    "COFFEE", "BAKERY", "HAIR", "NAIL", "OPEN", "SALE", "CAFE", "PIZZA", "BEER", "MART",
    "HOTEL", "PHARMACY", "CLINIC", "BEAUTY", "STUDIO", "FITNESS", "Dessert", "Kitchen",
    "Fresh", "Bread", "Flower", "Books", "Shop", "Store", "Pub", "Bar", "Tea", "Food",
)

MIXED_WORDS: tuple[str, ...] = (
    "K-POP", "GS25", "CU", "PC방", "TV", "Wi-Fi", "3층", "2층", "1층", "지하1층", "2F", "B1",
    "No.1", "1+1", "2+1", "24시", "365일", "7번출구", "A동", "B동", "101호", "K-뷰티", "IT",
    "5G", "LED", "CCTV", "ATM", "DVD", "SNS", "3D", "VIP", "OK", "ZONE", "Q&A",
)

# --- menus and goods --------------------------------------------------------------------

MENU_ITEMS: tuple[str, ...] = (
    "김치찌개", "된장찌개", "비빔밥", "불고기", "떡볶이", "순대", "라면", "김밥", "돈까스",
    "짜장면", "짬뽕", "탕수육", "삼겹살", "물냉면", "비빔냉면", "만두", "제육볶음", "순두부",
    "갈비탕", "설렁탕", "아메리카노", "카페라떼", "녹차", "식혜", "수정과", "팥빙수", "잔치국수",
    "오므라이스", "우동", "쫄면", "어묵", "튀김", "양념치킨", "후라이드", "생맥주", "공기밥",
    "부대찌개", "해장국", "육개장", "닭볶음탕", "쌈밥", "보리밥", "콩국수", "수제비", "파전",
)

GOODS_BRANDS: tuple[str, ...] = (
    "해담", "참맛", "순수", "바른", "자연애", "농부네", "맑은샘", "푸르미", "햇곡", "오가닉",
    "정성", "한입", "고소미", "새벽", "들녘", "산들", "다정", "빛고을", "한결", "초롱",
)

GOODS_NAMES: tuple[str, ...] = (
    "우유", "두유", "생수", "라면", "과자", "참기름", "들기름", "고추장", "된장", "간장", "김",
    "커피", "녹차", "주스", "요구르트", "쌀", "현미", "밀가루", "설탕", "소금", "식용유", "샴푸",
    "치약", "비누", "세제", "휴지", "물티슈", "참치", "스팸", "김치", "두부", "계란", "꿀",
    "보리차", "옥수수차", "젤리", "초콜릿", "아이스크림", "떡국떡", "당면", "부침가루", "고춧가루",
    "올리브유", "섬유유연제", "칫솔", "마스크", "건전지", "고무장갑", "생리대", "기저귀",
)

GOODS_DESCRIPTORS: tuple[str, ...] = (
    "국산", "유기농", "무첨가", "저지방", "고소한", "매운맛", "순한맛", "오리지널", "신제품",
    "대용량", "증정", "100%", "국내산", "무농약", "저당", "무설탕", "고단백", "천연", "프리미엄",
    "가족용", "실속형", "한정판", "리필", "무향", "저자극", "진한맛", "담백한", "바삭한",
    "HACCP", "NEW", "BEST", "Premium", "Organic", "Original",
)

UNIT_WORDS: tuple[str, ...] = (
    "500g", "1kg", "1.5L", "200ml", "2L", "750ml", "300g", "120g", "1.8L", "900ml", "30개입",
    "10매", "12구", "5kg", "10kg", "250ml", "80g", "20개", "3입", "6캔", "70매", "1+1",
)

# --- traffic signs ----------------------------------------------------------------------

# (Hangul name, romanized name as Korean road signs print it; the latter may be two words)
PLACES: tuple[tuple[str, str], ...] = (
    ("서울", "Seoul"), ("부산", "Busan"), ("대구", "Daegu"), ("인천", "Incheon"),
    ("광주", "Gwangju"), ("대전", "Daejeon"), ("울산", "Ulsan"), ("수원", "Suwon"),
    ("성남", "Seongnam"), ("고양", "Goyang"), ("용인", "Yongin"), ("부천", "Bucheon"),
    ("안산", "Ansan"), ("안양", "Anyang"), ("남양주", "Namyangju"), ("화성", "Hwaseong"),
    ("평택", "Pyeongtaek"), ("의정부", "Uijeongbu"), ("파주", "Paju"), ("김포", "Gimpo"),
    ("광명", "Gwangmyeong"), ("춘천", "Chuncheon"), ("원주", "Wonju"), ("강릉", "Gangneung"),
    ("청주", "Cheongju"), ("천안", "Cheonan"), ("전주", "Jeonju"), ("목포", "Mokpo"),
    ("여수", "Yeosu"), ("순천", "Suncheon"), ("포항", "Pohang"), ("경주", "Gyeongju"),
    ("김해", "Gimhae"), ("창원", "Changwon"), ("진주", "Jinju"), ("제주", "Jeju"),
    ("속초", "Sokcho"), ("동해", "Donghae"), ("세종", "Sejong"), ("강남", "Gangnam"),
    ("종로", "Jongno"), ("마포", "Mapo"), ("용산", "Yongsan"), ("여의도", "Yeouido"),
    ("잠실", "Jamsil"), ("신촌", "Sinchon"), ("시청", "City Hall"), ("서울역", "Seoul Station"),
    ("김포공항", "Gimpo Airport"), ("인천공항", "Incheon Airport"), ("터미널", "Bus Terminal"), ("구청", "Gu Office"),
    ("청량리", "Cheongnyangni"), ("영등포", "Yeongdeungpo"), ("분당", "Bundang"), ("일산", "Ilsan"),
)

TRAFFIC_WORDS: tuple[str, ...] = (
    "천천히", "서행", "정지", "멈춤", "어린이보호구역", "일방통행", "진입금지", "주차금지",
    "우회전", "좌회전", "직진", "공사중", "통학로", "횡단보도", "출구", "입구", "나들목",
    "고속도로", "국도", "주차장", "견인지역", "양보", "우회", "낙석주의", "미끄럼주의",
    "노인보호구역", "자전거도로", "버스전용", "유턴", "회전교차로", "과속방지턱", "안전운전",
)

TRAFFIC_LATIN: tuple[str, ...] = ("STOP", "SLOW", "EXIT", "IC", "JC", "P", "BUS", "ONE-WAY", "U-TURN")

# --- books ------------------------------------------------------------------------------

# Plain sentences; a page takes words from them in order so lines read naturally.
BOOK_SENTENCES: tuple[str, ...] = (
    "오늘은 아침부터 비가 조용히 내리고 있었다.",
    "그는 창가에 앉아 오래된 편지를 다시 읽었다.",
    "작은 마을의 골목에는 낮은 지붕들이 이어져 있었다.",
    "우리는 서로의 이름을 부르며 천천히 걸어갔다.",
    "바람이 불 때마다 마당의 감나무가 흔들렸다.",
    "어머니는 부엌에서 따뜻한 국을 끓이고 계셨다.",
    "시간이 지나도 그날의 기억은 선명하게 남아 있다.",
    "이 책은 한글의 역사와 그 원리를 쉽게 설명한다.",
    "세종대왕은 백성이 글을 쉽게 익히기를 바랐다.",
    "자음과 모음을 모아 한 글자를 만드는 방식이 특징이다.",
    "학생들은 도서관에서 시험 공부를 하고 있었다.",
    "기차는 정해진 시각에 맞추어 역을 떠났다.",
    "나는 그 질문에 쉽게 대답할 수 없었다.",
    "봄이 오면 강가에 노란 꽃이 가득 피어난다.",
    "그녀는 조심스럽게 문을 열고 방 안으로 들어갔다.",
    "경제 성장률은 지난해보다 조금 낮아졌다.",
    "이 장에서는 실험의 방법과 결과를 차례로 살펴본다.",
    "첫째, 자료를 모으고 둘째, 그 의미를 해석한다.",
    "도시의 밤은 낮보다 더 밝고 시끄러웠다.",
    "할아버지께서는 매일 새벽에 산책을 나가셨다.",
    "그 순간 멀리서 누군가 나를 부르는 소리가 들렸다.",
    "좋은 글은 짧고 분명하며 읽는 사람을 배려한다.",
    "아이들은 운동장에서 공을 차며 즐겁게 놀았다.",
    "바다 위로 해가 떠오르자 하늘이 붉게 물들었다.",
    "우리 모두에게는 저마다의 이야기가 있다.",
    "제주도의 돌담은 바람을 막기 위해 쌓은 것이다.",
    "회의는 오후 세 시에 본관 2층에서 열린다.",
    "표 3에 나타난 수치는 2020년 자료를 기준으로 한다.",
)

BOOK_TITLES: tuple[str, ...] = (
    "제1장", "제2장", "제3장", "제4장", "제5장", "서문", "머리말", "들어가며", "맺음말", "부록",
    "한글의", "역사", "봄날의", "기억", "바다와", "도시", "작은", "이야기", "경제학", "입문",
    "생각의", "힘", "우리말", "바로", "알기", "과학", "교양", "마음", "여행", "노트",
)

# --- patterned words ----------------------------------------------------------------------

_AREA_CODES = ("02", "031", "032", "033", "041", "042", "043", "051", "052", "053", "054",
               "055", "061", "062", "063", "064")


def price(rng: random.Random) -> str:
    """A Korean price such as ``1,000원`` or ``12,500원`` (thousands separators, won suffix)."""
    amount = rng.choice((rng.randint(1, 60) * 500, rng.randint(1, 30) * 1000, rng.randint(10, 99) * 100))
    return f"{amount:,}원"


def phone(rng: random.Random) -> str:
    """A Korean phone number: landline ``02-123-4567``, mobile ``010-1234-5678`` or ``1588-1234``."""
    kind = rng.random()
    if kind < 0.5:
        area = rng.choice(_AREA_CODES)
        middle = rng.randint(100, 9999) if area != "02" else rng.randint(100, 999)
        return f"{area}-{middle}-{rng.randint(0, 9999):04d}"
    if kind < 0.8:
        return f"010-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    return f"{rng.choice(('1588', '1577', '1566', '1644', '1899'))}-{rng.randint(0, 9999):04d}"


def distance(rng: random.Random) -> str:
    """A road-sign distance: ``12km``, ``3.5km`` or ``500m``."""
    kind = rng.random()
    if kind < 0.5:
        return f"{rng.randint(1, 120)}km"
    if kind < 0.8:
        return f"{rng.randint(1, 99) / 10:.1f}km"
    return f"{rng.randint(1, 9) * 100}m"


def book_words(rng: random.Random, count: int) -> list[str]:
    """``count`` consecutive words of running text, starting at a random sentence."""
    start = rng.randrange(len(BOOK_SENTENCES))
    words: list[str] = []
    k = start
    while len(words) < count:
        words.extend(BOOK_SENTENCES[k % len(BOOK_SENTENCES)].split())
        k += 1
    return words[:count]


def shop_name(rng: random.Random) -> list[str]:
    """A shop name as one or two words: ``행복분식`` or ``행복 분식``."""
    prefix, kind = rng.choice(SHOP_PREFIXES), rng.choice(SHOP_TYPES)
    return [prefix + kind] if rng.random() < 0.6 else [prefix, kind]


def any_word(rng: random.Random) -> str:
    """A word from any list, for filler and for small illegible text."""
    pool = rng.choice((SHOP_TYPES, SIGN_EXTRAS, MENU_ITEMS, GOODS_NAMES, TRAFFIC_WORDS, MIXED_WORDS))
    return rng.choice(pool)


def all_static_words() -> list[str]:
    """Every fixed word of the lexicon (for glyph-coverage checks)."""
    words: list[str] = []
    for pool in (SHOP_PREFIXES, SHOP_TYPES, VERTICAL_SIGNS, SIGN_EXTRAS, LATIN_WORDS, MIXED_WORDS,
                 MENU_ITEMS, GOODS_BRANDS, GOODS_NAMES, GOODS_DESCRIPTORS, UNIT_WORDS,
                 TRAFFIC_WORDS, TRAFFIC_LATIN, BOOK_TITLES):
        words.extend(pool)
    for korean, latin in PLACES:
        words.extend([korean, *latin.split()])
    for sentence in BOOK_SENTENCES:
        words.extend(sentence.split())
    return words
