"""絆マート / Kizuna Mart: a fictional lifestyle retailer, its stores and its customers.

Everything here is invented. People are built from short lists of common Japanese names with a
seeded ``random.Random``, so one seed always gives the same population; addresses use the
reserved ``example.jp`` / ``example.com`` domains and phone numbers are random.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

DEFAULT_SEED = 20261122


@dataclass(frozen=True, slots=True)
class DemoProduct:
    sku: str
    name_ja: str
    name_en: str
    category: str
    price_jpy: int  # tax included, as Japanese shelf prices are

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en


@dataclass(frozen=True, slots=True)
class DemoLocation:
    code: str
    kind: str  # store | warehouse
    name_ja: str
    name_en: str
    prefecture: str


def _products(prefix: str, category: str, rows: list[tuple[str, str, int]]) -> list[DemoProduct]:
    return [
        DemoProduct(f"KM-{prefix}-{i:03d}", ja, en, category, price)
        for i, (ja, en, price) in enumerate(rows, start=1)
    ]


PRODUCTS: tuple[DemoProduct, ...] = (
    *_products(
        "APP",
        "apparel",
        [
            ("オーガニックコットン クルーネックTシャツ", "Organic Cotton Crew Neck T-Shirt", 1990),
            ("リネン 長袖シャツ", "Linen Long-Sleeve Shirt", 3990),
            ("ストレッチ チノパンツ", "Stretch Chino Trousers", 3990),
            ("ウール混 カーディガン", "Wool-Blend Cardigan", 4990),
            ("撥水 ダウンジャケット", "Water-Repellent Down Jacket", 9990),
            ("足なり直角 靴下 3足組", "Right-Angle Socks, 3 Pairs", 1290),
            ("綿 パジャマ", "Cotton Pyjamas", 3990),
            ("キャンバス スニーカー", "Canvas Sneakers", 2990),
            ("ウール マフラー", "Wool Muffler", 2490),
            ("帆布 トートバッグ", "Canvas Tote Bag", 1490),
        ],
    ),
    *_products(
        "KIT",
        "kitchen",
        [
            ("南部鉄器 急須", "Nambu Cast-Iron Teapot", 6900),
            ("有田焼 飯碗", "Arita Porcelain Rice Bowl", 1200),
            ("ステンレス 保温マグ 350ml", "Stainless Insulated Mug 350 ml", 1990),
            ("ひのき まな板", "Hinoki Cutting Board", 2990),
            ("三徳包丁", "Santoku Knife", 4900),
            ("竹の箸 5膳セット", "Bamboo Chopsticks, Set of 5", 990),
            ("土鍋 6号", "Donabe Clay Pot, Size 6", 3490),
            ("耐熱ガラス 保存容器", "Heat-Resistant Glass Container", 890),
            ("ハンドドリップ コーヒーセット", "Hand-Drip Coffee Set", 3990),
            ("曲げわっぱ 弁当箱", "Magewappa Bento Box", 4400),
        ],
    ),
    *_products(
        "STA",
        "stationery",
        [
            ("ゲルインクボールペン 0.5mm", "Gel Ink Ballpoint Pen 0.5 mm", 120),
            ("文庫本ノート A6", "Paperback Notebook A6", 150),
            ("上質紙 ノート B5 5冊組", "Fine Paper Notebook B5, 5 Pack", 390),
            ("マンスリー手帳 2027", "2027 Monthly Planner", 1290),
            ("和紙 便箋セット", "Washi Letter Set", 790),
            ("アルミ 丸型ペンケース", "Aluminium Round Pen Case", 990),
            ("マスキングテープ 3巻組", "Masking Tape, 3 Rolls", 450),
            ("万年筆 細字", "Fountain Pen, Fine Nib", 3500),
            ("ポリプロピレン ファイルボックス", "Polypropylene File Box", 690),
            ("御朱印帳", "Goshuin Stamp Book", 1500),
        ],
    ),
    *_products(
        "BTY",
        "beauty",
        [
            ("化粧水 敏感肌用 200ml", "Toner for Sensitive Skin 200 ml", 890),
            ("乳液 敏感肌用 200ml", "Moisturising Milk 200 ml", 990),
            ("オールインワン美容液ジェル", "All-in-One Serum Gel", 1490),
            ("日焼け止め SPF50+", "Sunscreen SPF50+", 1290),
            ("椿油 ヘアオイル", "Camellia Hair Oil", 1650),
            ("クレンジングオイル", "Cleansing Oil", 1190),
            ("柚子 ハンドクリーム", "Yuzu Hand Cream", 690),
            ("シートマスク 5枚入", "Sheet Masks, 5 Pack", 590),
            ("リップバーム", "Lip Balm", 490),
            ("炭 洗顔フォーム", "Charcoal Face Wash", 790),
        ],
    ),
    *_products(
        "FOD",
        "food",
        [
            ("宇治抹茶 30g", "Uji Matcha 30 g", 1680),
            ("静岡煎茶 100g", "Shizuoka Sencha 100 g", 980),
            ("不揃い バウムクーヘン", "Irregular Baumkuchen", 190),
            ("レトルトカレー バターチキン", "Retort Curry, Butter Chicken", 350),
            ("北海道 ミルクキャラメル", "Hokkaido Milk Caramels", 290),
            ("国産はちみつ 250g", "Japanese Honey 250 g", 1980),
            ("柿の種", "Kaki no Tane Rice Crackers", 250),
            ("ほうじ茶 ティーバッグ 20袋", "Hojicha Tea Bags, 20 Bags", 590),
            ("生姜湯", "Ginger Tea Drink", 390),
            ("ふりかけ 詰め合わせ", "Furikake Assortment", 690),
        ],
    ),
    *_products(
        "HOM",
        "home",
        [
            ("超音波アロマディフューザー", "Ultrasonic Aroma Diffuser", 5990),
            ("ひのき エッセンシャルオイル 10ml", "Hinoki Essential Oil 10 ml", 1290),
            ("今治タオル バスタオル", "Imabari Bath Towel", 3300),
            ("羽毛掛ふとん シングル", "Down Duvet, Single", 19900),
            ("体にフィットするソファ", "Body-Fit Bean Bag Sofa", 15900),
            ("LED デスクライト", "LED Desk Lamp", 6990),
            ("麻平織 スリッパ", "Linen Slippers", 1490),
            ("ステンレス ハンガー 3本組", "Stainless Steel Hangers, 3 Pack", 690),
            ("掛時計 アナログ", "Analogue Wall Clock", 3990),
            ("珪藻土 バスマット", "Diatomite Bath Mat", 2990),
        ],
    ),
)

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "apparel": ("衣料品", "Apparel"),
    "kitchen": ("キッチン用品", "Kitchen"),
    "stationery": ("文房具", "Stationery"),
    "beauty": ("スキンケア・コスメ", "Beauty"),
    "food": ("食品", "Food"),
    "home": ("生活雑貨", "Home"),
}

LOCATIONS: tuple[DemoLocation, ...] = (
    DemoLocation("ST-SHIBUYA", "store", "渋谷店", "Shibuya", "東京都"),
    DemoLocation("ST-YOKOHAMA", "store", "横浜店", "Yokohama", "神奈川県"),
    DemoLocation("ST-SAKAE", "store", "栄店", "Sakae (Nagoya)", "愛知県"),
    DemoLocation("ST-UMEDA", "store", "梅田店", "Umeda (Osaka)", "大阪府"),
    DemoLocation("ST-TENJIN", "store", "天神店", "Tenjin (Fukuoka)", "福岡県"),
    DemoLocation("ST-SAPPORO", "store", "札幌店", "Sapporo", "北海道"),
    DemoLocation("WH-ICHIKAWA", "warehouse", "市川物流センター", "Ichikawa DC", "千葉県"),
    DemoLocation("WH-IBARAKI", "warehouse", "茨木物流センター", "Ibaraki DC", "大阪府"),
)

STORES: tuple[DemoLocation, ...] = tuple(loc for loc in LOCATIONS if loc.kind == "store")
# Where members shop most: the Tokyo flagship, then the big cities.
_HOME_STORE_WEIGHTS = (30, 15, 12, 20, 12, 11)

_FAMILY_NAMES = (
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("山口", "yamaguchi"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
    ("林", "hayashi"),
    ("斎藤", "saito"),
    ("清水", "shimizu"),
    ("森", "mori"),
    ("池田", "ikeda"),
    ("橋本", "hashimoto"),
    ("石川", "ishikawa"),
    ("前田", "maeda"),
    ("藤田", "fujita"),
)

_GIVEN_NAMES = (
    ("陽翔", "haruto"),
    ("蓮", "ren"),
    ("湊", "minato"),
    ("悠真", "yuma"),
    ("翔太", "shota"),
    ("健太", "kenta"),
    ("大輔", "daisuke"),
    ("拓也", "takuya"),
    ("誠", "makoto"),
    ("浩", "hiroshi"),
    ("陽葵", "himari"),
    ("結菜", "yuina"),
    ("凛", "rin"),
    ("芽依", "mei"),
    ("さくら", "sakura"),
    ("美咲", "misaki"),
    ("葵", "aoi"),
    ("由美", "yumi"),
    ("恵子", "keiko"),
    ("直子", "naoko"),
    ("陽菜", "hina"),
    ("愛", "ai"),
)


@dataclass(frozen=True, slots=True)
class Person:
    """One invented member of Kizuna Mart and the identifiers each channel knows them by."""

    user_id: str
    family_name: str
    given_name: str
    family_romaji: str
    given_romaji: str
    email: str
    phone: str  # E.164, +81 mobile
    loyalty_card: str
    language: str  # ja | en
    home_store: str
    birth_year: int
    member_since: date
    web_anonymous_id: str
    app_device_id: str | None  # None: has not installed the app
    app_platform: str | None  # ios | android
    line_user_id: str | None  # None: has not linked LINE
    email_opt_in: bool

    @property
    def locale(self) -> str:
        return "ja-JP" if self.language == "ja" else "en-US"

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def phone_display(self) -> str:
        """``+81 90-1234-5678``, the way a Japanese mobile number is written."""
        digits = self.phone[3:]
        return f"+81 {digits[:2]}-{digits[2:6]}-{digits[6:]}"


def luhn_digit(digits: str) -> str:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_digit(number[:-1]) == number[-1]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _unique(taken: set[str], draw: Callable[[], str]) -> str:
    while True:
        value = draw()
        if value not in taken:
            taken.add(value)
            return value


def _email(rng: random.Random, given: str, family: str, language: str) -> str:
    domain = "example.jp" if language == "ja" or rng.random() < 0.3 else "example.com"
    local = rng.choice(
        (f"{given}.{family}", f"{family}.{given}", f"{given[0]}{family}", f"{given}_{family}")
    )
    return f"{local}{rng.randint(1, 999)}@{domain}"


def _phone(rng: random.Random) -> str:
    return f"+81{rng.choice('789')}0{rng.randint(0, 99_999_999):08d}"


def _loyalty_card(rng: random.Random) -> str:
    body = f"8100{rng.randint(0, 99_999_999_999):011d}"
    return body + luhn_digit(body)


def generate_people(count: int, seed: int = DEFAULT_SEED) -> list[Person]:
    """``count`` invented members; the same seed always gives the same people."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    emails: set[str] = set()
    phones: set[str] = set()
    cards: set[str] = set()
    store_codes = [store.code for store in STORES]
    people = []
    for index in range(1, count + 1):
        family, family_romaji = rng.choice(_FAMILY_NAMES)
        given, given_romaji = rng.choice(_GIVEN_NAMES)
        language = "ja" if rng.random() < 0.9 else "en"
        has_app = rng.random() < 0.55
        people.append(
            Person(
                user_id=f"km-{index:06d}",
                family_name=family,
                given_name=given,
                family_romaji=family_romaji,
                given_romaji=given_romaji,
                email=_unique(emails, partial(_email, rng, given_romaji, family_romaji, language)),
                phone=_unique(phones, partial(_phone, rng)),
                loyalty_card=_unique(cards, partial(_loyalty_card, rng)),
                language=language,
                home_store=rng.choices(store_codes, weights=_HOME_STORE_WEIGHTS)[0],
                birth_year=rng.randint(1950, 2006),
                member_since=date(2015, 4, 1) + timedelta(days=rng.randint(0, 4000)),
                web_anonymous_id=_uuid(rng),
                app_device_id=_uuid(rng).upper() if has_app else None,
                app_platform=rng.choice(("ios", "android")) if has_app else None,
                line_user_id=f"U{rng.getrandbits(128):032x}" if rng.random() < 0.4 else None,
                email_opt_in=rng.random() < 0.75,
            )
        )
    return people
