"""Japanese names, places and ways of writing them, for synthetic customer data.

Used by `kizuna.matching.synthetic`. Besides the tables: script conversions (katakana,
half-width kana, full-width letters, romaji in several styles, era dates) and the variant
forms real customer lists contain (dates, phone numbers, addresses, typos, variant kanji).

Every name carries its kanji, the reading it actually has here (hiragana) and modified
Hepburn romaji with macrons (佐藤 さとう Satō, 健一 けんいち Ken'ichi). Readings are the
real ones, not what a dictionary converter guesses: 東海林 is しょうじ, 長田 is ながた.

Frequencies are approximate. Surnames are listed in order of national frequency and weighted
by rank (weight = rank ** -0.5, so 佐藤 is 16 times as common as the 260th name; the real ratio
is nearer 19). With no long tail of rare names, 佐藤 is ~3% of people instead of ~1.5%, and two
people share a full name several times as often as in Japan. Given names carry a sex, the
birth-year eras they were popular in (A 1938–1962, B 1958–1980, C 1976–1995, D 1990–2008)
and a popularity weight within them.

Places: the 47 prefectures, weighted by population (in units of 100,000), each with a few
cities or wards, real 3-digit postcode prefixes and the prefecture's main telephone area code.
Towns are real for the big wards, otherwise drawn from common town names; every town gets a
fixed 7-digit postcode derived from the table alone, so a town always has the same postcode.
"""

# ruff: noqa: E501 - tables of wide characters read best one row of entries per line

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate

import jaconv


@dataclass(frozen=True, slots=True, eq=False)  # each table entry is unique: compare by identity
class Name:
    kanji: str
    kana: str  # the true reading, hiragana
    romaji: str  # modified Hepburn with macrons
    weight: float
    sex: str = ""  # "M" / "F" for given names
    eras: str = ""  # era letters for given names


@dataclass(frozen=True, slots=True)
class Town:
    prefecture: str
    city: str
    town: str
    postcode: str  # "160-0023"
    area_code: str  # landline area code, "03", "011", "0776"
    has_chome: bool  # addresses like 西新宿2-8-1 (else 本町8-1 or a lot number)


# fmt: off
_SURNAMES = """
佐藤 さとう Satō|鈴木 すずき Suzuki|高橋 たかはし Takahashi|田中 たなか Tanaka|伊藤 いとう Itō
渡辺 わたなべ Watanabe|山本 やまもと Yamamoto|中村 なかむら Nakamura|小林 こばやし Kobayashi
加藤 かとう Katō|吉田 よしだ Yoshida|山田 やまだ Yamada|佐々木 ささき Sasaki|山口 やまぐち Yamaguchi
松本 まつもと Matsumoto|井上 いのうえ Inoue|木村 きむら Kimura|林 はやし Hayashi|斎藤 さいとう Saitō
清水 しみず Shimizu|山崎 やまざき Yamazaki|森 もり Mori|池田 いけだ Ikeda|橋本 はしもと Hashimoto
阿部 あべ Abe|石川 いしかわ Ishikawa|山下 やました Yamashita|中島 なかじま Nakajima|石井 いしい Ishii
小川 おがわ Ogawa|前田 まえだ Maeda|岡田 おかだ Okada|長谷川 はせがわ Hasegawa|藤田 ふじた Fujita
後藤 ごとう Gotō|近藤 こんどう Kondō|村上 むらかみ Murakami|遠藤 えんどう Endō|青木 あおき Aoki
坂本 さかもと Sakamoto|斉藤 さいとう Saitō|福田 ふくだ Fukuda|太田 おおた Ōta|西村 にしむら Nishimura
藤井 ふじい Fujii|金子 かねこ Kaneko|岡本 おかもと Okamoto|藤原 ふじわら Fujiwara|中野 なかの Nakano
三浦 みうら Miura|原田 はらだ Harada|中川 なかがわ Nakagawa|松田 まつだ Matsuda|竹内 たけうち Takeuchi
小野 おの Ono|田村 たむら Tamura|中山 なかやま Nakayama|和田 わだ Wada|石田 いしだ Ishida
森田 もりた Morita|上田 うえだ Ueda|原 はら Hara|内田 うちだ Uchida|柴田 しばた Shibata
酒井 さかい Sakai|宮崎 みやざき Miyazaki|横山 よこやま Yokoyama|高木 たかぎ Takagi|安藤 あんどう Andō
宮本 みやもと Miyamoto|大野 おおの Ōno|小島 こじま Kojima|工藤 くどう Kudō|谷口 たにぐち Taniguchi
今井 いまい Imai|高田 たかだ Takada|丸山 まるやま Maruyama|増田 ますだ Masuda|杉山 すぎやま Sugiyama
村田 むらた Murata|大塚 おおつか Ōtsuka|小山 こやま Koyama|平野 ひらの Hirano|藤本 ふじもと Fujimoto
河野 こうの Kōno|上野 うえの Ueno|野口 のぐち Noguchi|武田 たけだ Takeda|松井 まつい Matsui
千葉 ちば Chiba|岩崎 いわさき Iwasaki|菅原 すがわら Sugawara|木下 きのした Kinoshita|久保 くぼ Kubo
佐野 さの Sano|野村 のむら Nomura|松尾 まつお Matsuo|市川 いちかわ Ichikawa|菊地 きくち Kikuchi
杉本 すぎもと Sugimoto|古川 ふるかわ Furukawa|大西 おおにし Ōnishi|島田 しまだ Shimada|水野 みずの Mizuno
桜井 さくらい Sakurai|高野 たかの Takano|渡部 わたなべ Watanabe|吉川 よしかわ Yoshikawa|山内 やまうち Yamauchi
西田 にしだ Nishida|飯田 いいだ Iida|菊池 きくち Kikuchi|西川 にしかわ Nishikawa|小松 こまつ Komatsu
北村 きたむら Kitamura|安田 やすだ Yasuda|五十嵐 いがらし Igarashi|川口 かわぐち Kawaguchi|平田 ひらた Hirata
関 せき Seki|中田 なかた Nakata|久保田 くぼた Kubota|服部 はっとり Hattori|東 ひがし Higashi
岩田 いわた Iwata|土屋 つちや Tsuchiya|川崎 かわさき Kawasaki|福島 ふくしま Fukushima|本田 ほんだ Honda
辻 つじ Tsuji|樋口 ひぐち Higuchi|秋山 あきやま Akiyama|田口 たぐち Taguchi|永井 ながい Nagai
山中 やまなか Yamanaka|中西 なかにし Nakanishi|吉村 よしむら Yoshimura|川上 かわかみ Kawakami|石原 いしはら Ishihara
大橋 おおはし Ōhashi|松岡 まつおか Matsuoka|馬場 ばば Baba|浅野 あさの Asano|荒木 あらき Araki
大久保 おおくぼ Ōkubo|野田 のだ Noda|小沢 おざわ Ozawa|田辺 たなべ Tanabe|川村 かわむら Kawamura
星野 ほしの Hoshino|黒田 くろだ Kuroda|堀 ほり Hori|尾崎 おざき Ozaki|望月 もちづき Mochizuki
永田 ながた Nagata|熊谷 くまがい Kumagai|内藤 ないとう Naitō|松村 まつむら Matsumura|西山 にしやま Nishiyama
大谷 おおたに Ōtani|平井 ひらい Hirai|大島 おおしま Ōshima|岩本 いわもと Iwamoto|片山 かたやま Katayama
本間 ほんま Honma|早川 はやかわ Hayakawa|横田 よこた Yokota|岡崎 おかざき Okazaki|荒井 あらい Arai
大石 おおいし Ōishi|鎌田 かまた Kamata|成田 なりた Narita|宮田 みやた Miyata|小田 おだ Oda
石橋 いしばし Ishibashi|篠原 しのはら Shinohara|須藤 すどう Sudō|河合 かわい Kawai|大川 おおかわ Ōkawa
松下 まつした Matsushita|宮下 みやした Miyashita|吉野 よしの Yoshino|中尾 なかお Nakao|小池 こいけ Koike
桑原 くわばら Kuwabara|広瀬 ひろせ Hirose|杉浦 すぎうら Sugiura|菅野 かんの Kanno|武藤 むとう Mutō
関口 せきぐち Sekiguchi|榎本 えのもと Enomoto|小西 こにし Konishi|坂口 さかぐち Sakaguchi|矢野 やの Yano
松原 まつばら Matsubara|森本 もりもと Morimoto|新井 あらい Arai|富田 とみた Tomita|吉岡 よしおか Yoshioka
青山 あおやま Aoyama|浜田 はまだ Hamada|三宅 みやけ Miyake|中井 なかい Nakai|秋元 あきもと Akimoto
西尾 にしお Nishio|北川 きたがわ Kitagawa|岡 おか Oka|堀内 ほりうち Horiuchi|福井 ふくい Fukui
川田 かわだ Kawada|白石 しらいし Shiraishi|三上 みかみ Mikami|大森 おおもり Ōmori|小森 こもり Komori
宮川 みやがわ Miyagawa|奥村 おくむら Okumura|土井 どい Doi|金田 かねだ Kaneda|長尾 ながお Nagao
松浦 まつうら Matsuura|安部 あべ Abe|細川 ほそかわ Hosokawa|竹田 たけだ Takeda|栗原 くりはら Kurihara
南 みなみ Minami|上原 うえはら Uehara|比嘉 ひが Higa|金城 きんじょう Kinjō|宮城 みやぎ Miyagi
佐久間 さくま Sakuma|大平 おおひら Ōhira|前川 まえかわ Maekawa|片岡 かたおか Kataoka|奥田 おくだ Okuda
井口 いぐち Iguchi|高山 たかやま Takayama|須田 すだ Suda|大木 おおき Ōki|飯島 いいじま Iijima
長田 ながた Nagata|二宮 にのみや Ninomiya|今村 いまむら Imamura|荒川 あらかわ Arakawa|竹中 たけなか Takenaka
佐伯 さえき Saeki|東海林 しょうじ Shōji|日下部 くさかべ Kusakabe|神田 かんだ Kanda|三木 みき Miki
角田 つのだ Tsunoda|柳田 やなぎだ Yanagida|上村 うえむら Uemura|中谷 なかたに Nakatani|河村 かわむら Kawamura
岸 きし Kishi|宇野 うの Uno|大山 おおやま Ōyama|大竹 おおたけ Ōtake|浅井 あさい Asai|田島 たじま Tajima
"""

# kanji reading romaji sex eras weight
_GIVEN_NAMES = """
茂 しげる Shigeru M A 4|清 きよし Kiyoshi M A 4|勇 いさむ Isamu M A 3|実 みのる Minoru M A 3
進 すすむ Susumu M A 3|博 ひろし Hiroshi M AB 4|浩 ひろし Hiroshi M AB 4|弘 ひろし Hiroshi M A 3
隆 たかし Takashi M AB 4|孝 たかし Takashi M A 3|修 おさむ Osamu M AB 3|正 ただし Tadashi M A 3
明 あきら Akira M AB 3|昭 あきら Akira M A 2|勝 まさる Masaru M A 3|武 たけし Takeshi M A 2
豊 ゆたか Yutaka M AB 3|稔 みのる Minoru M A 2|和夫 かずお Kazuo M A 4|正夫 まさお Masao M A 3
幸雄 ゆきお Yukio M A 3|秀夫 ひでお Hideo M A 3|義雄 よしお Yoshio M A 2|三郎 さぶろう Saburō M A 2
次郎 じろう Jirō M A 2|一郎 いちろう Ichirō M AB 2|太郎 たろう Tarō M ABCD 1|健一 けんいち Ken'ichi M AB 3
誠一 せいいち Seiichi M AB 2|浩一 こういち Kōichi M AB 3|幸一 こういち Kōichi M A 2|正樹 まさき Masaki M BC 2
秀樹 ひでき Hideki M B 3|英樹 ひでき Hideki M B 2|哲也 てつや Tetsuya M B 3|和彦 かずひこ Kazuhiko M AB 2
康弘 やすひろ Yasuhiro M B 2|雅之 まさゆき Masayuki M B 2|隆之 たかゆき Takayuki M B 2|誠 まこと Makoto M BC 4
聡 さとし Satoshi M BC 3|学 まなぶ Manabu M B 2|剛 つよし Tsuyoshi M BC 2|徹 とおる Tōru M B 2
淳 じゅん Jun M BC 2|純一 じゅんいち Jun'ichi M B 2|健 けん Ken M BC 2|直樹 なおき Naoki M BC 3
大輔 だいすけ Daisuke M BC 4|大介 だいすけ Daisuke M BC 2|健太 けんた Kenta M C 3|拓也 たくや Takuya M C 4
達也 たつや Tatsuya M BC 3|竜也 たつや Tatsuya M C 1|和也 かずや Kazuya M BC 3|信也 しんや Shin'ya M BC 2
慎也 しんや Shin'ya M C 1|智也 ともや Tomoya M C 2|洋平 ようへい Yōhei M C 2|翔平 しょうへい Shōhei M CD 2
俊介 しゅんすけ Shunsuke M C 2|祐介 ゆうすけ Yūsuke M C 3|雄一 ゆういち Yūichi M B 2|亮 りょう Ryō M C 2
涼 りょう Ryō M CD 1|裕太 ゆうた Yūta M C 2|雄太 ゆうた Yūta M C 2|健太郎 けんたろう Kentarō M BC 1
賢治 けんじ Kenji M B 2|健二 けんじ Kenji M AB 2|浩二 こうじ Kōji M AB 2|翔太 しょうた Shōta M CD 5
翔 しょう Shō M CD 2|大樹 だいき Daiki M CD 3|拓海 たくみ Takumi M CD 3|海斗 かいと Kaito M D 3
翼 つばさ Tsubasa M CD 2|隼人 はやと Hayato M CD 2|駿 しゅん Shun M CD 2|航 わたる Wataru M C 1
直人 なおと Naoto M C 2|健吾 けんご Kengo M C 1|圭 けい Kei M C 1|大貴 だいき Daiki M CD 2
優斗 ゆうと Yūto M D 3|悠斗 ゆうと Yūto M D 3|蓮 れん Ren M D 4|陸 りく Riku M D 2
颯太 そうた Sōta M D 3|大翔 ひろと Hiroto M D 3|陽翔 はると Haruto M D 2|悠真 ゆうま Yūma M D 2
湊 みなと Minato M D 1|樹 いつき Itsuki M D 2|蒼 あおい Aoi M D 1|奏太 かなた Kanata M D 1
龍之介 りゅうのすけ Ryūnosuke M D 1|大和 やまと Yamato M D 2|悠人 ゆうと Yūto M D 1|陽太 ようた Yōta M D 1
蒼空 そら Sora M D 1|新 あらた Arata M D 1|光 ひかる Hikaru M BC 1|拓真 たくま Takuma M D 2
一輝 かずき Kazuki M CD 2|和樹 かずき Kazuki M C 2|智 さとし Satoshi M B 1|博之 ひろゆき Hiroyuki M B 3
浩之 ひろゆき Hiroyuki M B 2|克也 かつや Katsuya M B 1|正人 まさと Masato M BC 1|一 はじめ Hajime M AB 1
幸子 さちこ Sachiko F A 4|洋子 ようこ Yōko F A 4|和子 かずこ Kazuko F A 4|恵子 けいこ Keiko F AB 4
京子 きょうこ Kyōko F A 3|節子 せつこ Setsuko F A 3|美智子 みちこ Michiko F A 3|道子 みちこ Michiko F A 2
久美子 くみこ Kumiko F AB 3|由美子 ゆみこ Yumiko F AB 3|悦子 えつこ Etsuko F A 2|良子 よしこ Yoshiko F A 2
康子 やすこ Yasuko F A 2|信子 のぶこ Nobuko F A 2|千代子 ちよこ Chiyoko F A 1|春子 はるこ Haruko F A 1
花子 はなこ Hanako F A 1|正子 まさこ Masako F A 2|雅子 まさこ Masako F AB 2|典子 のりこ Noriko F AB 3
紀子 のりこ Noriko F AB 2|敏子 としこ Toshiko F A 2|文子 ふみこ Fumiko F A 1|弘子 ひろこ Hiroko F A 2
明子 あきこ Akiko F AB 2|陽子 ようこ Yōko F AB 3|裕子 ゆうこ Yūko F B 3|優子 ゆうこ Yūko F BC 3
真由美 まゆみ Mayumi F B 3|明美 あけみ Akemi F AB 2|直美 なおみ Naomi F B 3|智子 ともこ Tomoko F B 4
純子 じゅんこ Junko F B 3|恵美 えみ Emi F BC 2|真理子 まりこ Mariko F B 2|理恵 りえ Rie F BC 2
美由紀 みゆき Miyuki F B 2|由紀 ゆき Yuki F BC 1|奈美 なみ Nami F B 1|麻美 あさみ Asami F BC 1
加奈子 かなこ Kanako F BC 2|亜希子 あきこ Akiko F B 1|里美 さとみ Satomi F BC 2|友美 ともみ Tomomi F BC 2
美紀 みき Miki F BC 2|美穂 みほ Miho F BC 2|由美 ゆみ Yumi F B 2|美香 みか Mika F BC 2
愛 あい Ai F C 3|彩 あや Aya F C 2|舞 まい Mai F C 2|麻衣 まい Mai F C 2
沙織 さおり Saori F C 3|香織 かおり Kaori F BC 3|瞳 ひとみ Hitomi F BC 2|愛子 あいこ Aiko F AB 1
千尋 ちひろ Chihiro F C 1|亜美 あみ Ami F C 1|彩香 あやか Ayaka F CD 2|萌 もえ Moe F CD 1
遥 はるか Haruka F CD 2|七海 ななみ Nanami F CD 2|美咲 みさき Misaki F CD 4|沙也加 さやか Sayaka F C 1
夏美 なつみ Natsumi F C 2|美里 みさと Misato F C 1|愛美 まなみ Manami F C 2|茜 あかね Akane F C 1
桃子 ももこ Momoko F BC 1|静香 しずか Shizuka F B 1|千春 ちはる Chiharu F B 1|早紀 さき Saki F C 1
綾 あや Aya F C 1|陽菜 ひな Hina F D 4|結衣 ゆい Yui F D 4|さくら さくら Sakura F CD 3
葵 あおい Aoi F D 3|凛 りん Rin F D 2|結愛 ゆあ Yua F D 2|芽依 めい Mei F D 2
莉子 りこ Riko F D 2|美羽 みう Miu F D 2|美月 みづき Mizuki F D 1|菜々子 ななこ Nanako F C 1
杏 あん An F D 1|紬 つむぎ Tsumugi F D 1|心春 こはる Koharu F D 1|陽葵 ひまり Himari F D 2
美桜 みお Mio F D 1|澪 みお Mio F D 1|楓 かえで Kaede F D 1|緑 みどり Midori F A 1
結菜 ゆいな Yuina F D 1|優奈 ゆうな Yūna F D 1|美優 みゆ Miyu F D 2|咲 さき Saki F D 1
菜月 なつき Natsuki F D 1|真央 まお Mao F D 1|未来 みく Miku F D 1|栞 しおり Shiori F D 1
琴音 ことね Kotone F D 1|和奏 わかな Wakana F D 1|ひかり ひかり Hikari F CD 1|彩乃 あやの Ayano F D 1
恵 めぐみ Megumi F BC 3|由香 ゆか Yuka F C 2|久子 ひさこ Hisako F A 1|貴子 たかこ Takako F AB 1
晴美 はるみ Harumi F A 1|順子 じゅんこ Junko F AB 2|めぐみ めぐみ Megumi F C 1|真紀 まき Maki F BC 1
"""

# prefecture|population (100,000s)|area code|city:postcode prefixes|...
_PREFECTURES = """
北海道|52|011|札幌市中央区:060,064|札幌市北区:001|札幌市東区:065,007|旭川市:070,078|函館市:040,041
青森県|12|017|青森市:030,038|八戸市:031,039|弘前市:036
岩手県|12|019|盛岡市:020|一関市:021|奥州市:023
宮城県|23|022|仙台市青葉区:980,981|仙台市宮城野区:983|仙台市泉区:981|石巻市:986
秋田県|10|018|秋田市:010|横手市:013|大館市:017
山形県|11|023|山形市:990|米沢市:992|鶴岡市:997
福島県|18|024|福島市:960|郡山市:963|いわき市:970,971,973
茨城県|29|029|水戸市:310|つくば市:305|日立市:316,317|土浦市:300
栃木県|19|028|宇都宮市:320,321|小山市:323|足利市:326
群馬県|19|027|前橋市:371|高崎市:370|太田市:373
埼玉県|73|048|さいたま市浦和区:330|さいたま市大宮区:330|川口市:332,333|川越市:350|所沢市:359|越谷市:343
千葉県|63|043|千葉市中央区:260|船橋市:273|松戸市:270,271|柏市:277|市川市:272
東京都|140|03|千代田区:100,101,102|港区:105,106,107,108|新宿区:160,161,169|渋谷区:150,151|品川区:140,141,142|大田区:143,144,145,146|世田谷区:154,155,156,157,158|杉並区:166,167,168|練馬区:176,177,178,179|板橋区:173,174,175|足立区:120,121,123|江戸川区:132,133,134|八王子市:192,193|町田市:194,195
神奈川県|92|045|横浜市西区:220|横浜市港北区:222,223|横浜市青葉区:225,227|横浜市戸塚区:244,245|川崎市中原区:211|川崎市川崎区:210|相模原市中央区:252|藤沢市:251|横須賀市:238,239
新潟県|22|025|新潟市中央区:950,951|長岡市:940|上越市:942,943
富山県|10|076|富山市:930,939|高岡市:933|射水市:934
石川県|11|076|金沢市:920,921|小松市:923|白山市:924
福井県|8|0776|福井市:910,918|敦賀市:914|坂井市:919
山梨県|8|055|甲府市:400|富士吉田市:403|甲斐市:400
長野県|20|026|長野市:380,381|松本市:390|上田市:386
岐阜県|20|058|岐阜市:500,501|大垣市:503|各務原市:504
静岡県|36|054|静岡市葵区:420|浜松市中区:430|沼津市:410|富士市:416,417
愛知県|75|052|名古屋市中区:460|名古屋市千種区:464|名古屋市中村区:450,453|豊田市:471|岡崎市:444|一宮市:491|豊橋市:440,441
三重県|18|059|津市:514|四日市市:510|鈴鹿市:513
滋賀県|14|077|大津市:520|草津市:525|彦根市:522
京都府|26|075|京都市中京区:604|京都市左京区:606|京都市伏見区:612|宇治市:611
大阪府|88|06|大阪市北区:530|大阪市中央区:540,541,542|大阪市天王寺区:543|大阪市淀川区:532|堺市堺区:590|豊中市:560,561|吹田市:564,565|東大阪市:577,578,579|枚方市:573
兵庫県|55|078|神戸市中央区:650,651|神戸市東灘区:658|姫路市:670,671|西宮市:662,663|尼崎市:660,661|明石市:673
奈良県|13|0742|奈良市:630,631|橿原市:634|生駒市:630
和歌山県|9|073|和歌山市:640,641|田辺市:646|橋本市:648
鳥取県|6|0857|鳥取市:680|米子市:683|倉吉市:682
島根県|7|0852|松江市:690|出雲市:693|浜田市:697
岡山県|19|086|岡山市北区:700|倉敷市:710,712,713|津山市:708
広島県|28|082|広島市中区:730|広島市南区:732,734|福山市:720,721|呉市:737
山口県|13|083|山口市:753|下関市:750,751|宇部市:755
徳島県|7|088|徳島市:770|阿南市:774|鳴門市:772
香川県|10|087|高松市:760,761|丸亀市:763|坂出市:762
愛媛県|13|089|松山市:790,791|今治市:794|新居浜市:792
高知県|7|088|高知市:780,781|南国市:783|四万十市:787
福岡県|51|092|福岡市博多区:812|福岡市中央区:810|福岡市東区:813|北九州市小倉北区:802,803|久留米市:830
佐賀県|8|0952|佐賀市:840,849|唐津市:847|鳥栖市:841
長崎県|13|095|長崎市:850,851,852|佐世保市:857,858|諫早市:854
熊本県|17|096|熊本市中央区:860,862|八代市:866|天草市:863
大分県|11|097|大分市:870|別府市:874|中津市:871
宮崎県|11|0985|宮崎市:880|都城市:885|延岡市:882
鹿児島県|16|099|鹿児島市:890,891,892|霧島市:899|鹿屋市:893
沖縄県|15|098|那覇市:900,902|沖縄市:904|うるま市:904|浦添市:901
"""

_REAL_TOWNS = {
    "千代田区": "丸の内 大手町 神田神保町 麹町 飯田橋 有楽町",
    "港区": "六本木 赤坂 芝浦 高輪 白金 南青山 新橋",
    "新宿区": "西新宿 新宿 歌舞伎町 高田馬場 大久保 百人町 四谷 早稲田町",
    "渋谷区": "渋谷 恵比寿 代々木 神宮前 道玄坂 笹塚 幡ヶ谷 広尾",
    "品川区": "大崎 西五反田 東品川 大井 戸越 荏原",
    "大田区": "蒲田 大森北 田園調布 池上 羽田 山王",
    "世田谷区": "三軒茶屋 太子堂 北沢 成城 用賀 経堂 桜新町 等々力",
    "杉並区": "阿佐谷南 荻窪 高円寺南 西荻北 下井草 方南",
    "練馬区": "練馬 石神井町 大泉学園町 光が丘 豊玉北 関町北",
    "板橋区": "板橋 大山町 成増 高島平 常盤台",
    "足立区": "千住 綾瀬 竹の塚 梅島 西新井",
    "江戸川区": "葛西 南小岩 瑞江 船堀 平井 一之江",
    "八王子市": "旭町 横山町 子安町 めじろ台 南大沢",
    "町田市": "原町田 森野 鶴川 成瀬 玉川学園",
    "横浜市西区": "高島 みなとみらい 南幸 北幸 戸部町",
    "横浜市港北区": "日吉 綱島西 大倉山 新横浜 菊名",
    "大阪市北区": "梅田 曽根崎 天神橋 中崎 堂島",
    "大阪市中央区": "難波 心斎橋筋 本町 谷町 道修町",
    "名古屋市中区": "栄 錦 丸の内 大須 金山",
    "札幌市中央区": "北一条西 南三条西 大通西 宮の森 円山西町",
    "福岡市博多区": "博多駅前 中洲 祇園町 住吉 美野島",
}

_COMMON_TOWNS = """
本町 中央 栄町 緑町 旭町 東町 西町 南町 北町 新町 幸町 末広町 大和町 桜町 若葉町 松原 寿町 昭和町
元町 錦町 駅前 山手町 港町 城東 城西 城南 城北 宮前 八幡町 天神 泉町 日の出町 住吉町 花園町 春日
平和町 青葉町 中町 上町 富士見町 朝日町 宝町 千歳町 高砂町 相生町 常盤町 弥生町 曙町 松が丘 桜ケ丘
緑が丘 本郷 新田 大通 柳町 川端町 浜町 入船町 大手町 堀川町 御幸町 白山 神明町 山王 稲荷町 清水町
東本町 西本町 中島 今泉 桜木町 東雲 光町
"""

# Variant (old or printed) forms of kanji that turn up in customer lists: 髙橋, 山﨑, 渡邊, 齋藤.
ITAIJI: dict[str, str] = {
    "高": "髙", "崎": "﨑", "辺": "邊", "沢": "澤", "斉": "齊", "斎": "齋", "浜": "濱", "島": "嶋",
    "広": "廣", "桜": "櫻", "竜": "龍", "恵": "惠", "真": "眞", "富": "冨", "国": "國", "関": "關",
    "徳": "德", "瀬": "瀨", "郎": "郞", "条": "條", "実": "實", "栄": "榮",
}
EMAIL_DOMAINS = ("gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "icloud.com", "outlook.jp", "hotmail.co.jp", "nifty.com", "ocn.ne.jp")
EMAIL_DOMAIN_WEIGHTS = (32, 18, 12, 7, 4, 5, 4, 10, 3, 2, 1.5, 1.5)
EMAIL_WORDS = ("happy", "sky", "blue", "star", "music", "soccer", "neko", "dream", "love", "smile", "sun", "moon", "tennis", "peace", "cherry", "lucky")
# Local parts of email addresses: {s} {g} surname and given name in plain romaji, {g0} initial.
EMAIL_LOCAL_PARTS = ("{g}.{s}{yy}", "{g}.{s}", "{s}.{g}", "{g}{s}{n}", "{g0}{s}", "{g0}.{s}", "{g}_{mmdd}", "{g}-{word}{nnn}", "{word}.{g}{n}", "{s}-{g}.{yyyy}")
BUILDING_HEADS = ("パーク", "グラン", "メゾン", "サン", "ライオンズ", "ロイヤル", "コーポ", "シティ", "プラザ", "ヴィラ", "アーバン", "エスポワール")
BUILDING_TAILS = ("ハイツ", "マンション", "コート", "ハウス", "ヒルズ", "テラス", "レジデンス", "パレス", "タワー", "荘")
# How a date of birth or a phone number gets written on Japanese forms, with weights.
# Dates: {y} {m} {d} unpadded, {mm} {dd} zero-padded, {Y} {M} {D} full-width digits,
# {era} S60.3.4 and {era_kanji} 昭和60年3月4日. Phones (090-1234-5678): {a} {b} {c} the parts,
# {a1} the first without its 0 (international form), {A} {B} {C} full-width digits.
DATE_FORMATS = {"{y}/{m}/{d}": 25, "{y}/{mm}/{dd}": 12, "{y}{mm}{dd}": 15, "{era}": 10, "{era_kanji}": 10, "{y}年{mm}月{dd}日": 6, "{y}年{m}月{d}日": 6, "{y}.{m}.{d}": 4, "{Y}／{M}／{D}": 4}
PHONE_FORMATS = {"{a}{b}{c}": 35, "+81 {a1}-{b}-{c}": 12, "+81{a1}{b}{c}": 8, "({a}){b}-{c}": 10, "{a} {b} {c}": 10, "{A}－{B}－{C}": 10, "{A}{B}{C}": 5, "{a}ー{b}ー{c}": 5, "{a}‐{b}‐{c}": 5}
# Kana easily mistyped for one another (dakuten, small forms), hiragana and katakana.
_KANA_SETS = "かが きぎ くぐ けげ こご さざ しじ すず せぜ そぞ ただ ちぢ つづっ てで とど はばぱ ひびぴ ふぶぷ へべぺ ほぼぽ あぁ いぃ うぅ えぇ おぉ やゃ ゆゅ よょ"
# fmt: on


def _parse_surnames() -> tuple[Name, ...]:
    entries = [e.split() for line in _SURNAMES.strip().splitlines() for e in line.split("|")]
    return tuple(Name(k, h, r, (rank + 1) ** -0.5) for rank, (k, h, r) in enumerate(entries))


def _parse_given_names() -> tuple[Name, ...]:
    entries = [e.split() for line in _GIVEN_NAMES.strip().splitlines() for e in line.split("|")]
    return tuple(Name(k, h, r, float(w), s, eras) for k, h, r, s, eras, w in entries)


SURNAMES: tuple[Name, ...] = _parse_surnames()
GIVEN_NAMES: tuple[Name, ...] = _parse_given_names()
SURNAME_CUM: tuple[float, ...] = tuple(accumulate(n.weight for n in SURNAMES))
ERA_YEARS: dict[str, tuple[int, int]] = {
    "A": (1938, 1962),
    "B": (1958, 1980),
    "C": (1976, 1995),
    "D": (1990, 2008),
}


def _homophones(names: tuple[Name, ...]) -> dict[str, tuple[str, ...]]:
    by_kana: dict[tuple[str, str], list[str]] = {}
    for n in names:
        by_kana.setdefault((n.kana, n.sex), []).append(n.kanji)
    return {k: tuple(o for o in group if o != k) for group in by_kana.values() for k in group}


# Same reading, other kanji (the wrong IME conversion): 斎藤 → 斉藤, 浩 → 博, 陽子 → 洋子.
HOMOPHONES: dict[str, tuple[str, ...]] = {
    k: v for k, v in (_homophones(SURNAMES) | _homophones(GIVEN_NAMES)).items() if v
}


@cache
def given_names_for(sex: str, year: int) -> tuple[tuple[Name, ...], tuple[float, ...]]:
    """Given names of one sex that were in use for births in `year`, with cumulative weights."""
    names = tuple(
        n
        for n in GIVEN_NAMES
        if n.sex == sex and any(ERA_YEARS[e][0] <= year <= ERA_YEARS[e][1] for e in n.eras)
    )
    return names, tuple(accumulate(n.weight for n in names))


def _build_towns() -> tuple[tuple[Town, ...], tuple[float, ...]]:
    pool = _COMMON_TOWNS.split()
    towns: list[Town] = []
    weights: list[float] = []
    for line in _PREFECTURES.strip().splitlines():
        pref, population, area, *cities = line.split("|")
        for spec in cities:
            city, prefixes = spec.split(":")
            local = random.Random(f"{pref}{city}")  # noqa: S311 - a fixed table, not secrets
            real = _REAL_TOWNS.get(city)
            names = real.split() if real else local.sample(pool, local.randint(6, 10))
            used: set[str] = set()
            for town in names:
                code = ""
                while not code or code in used:
                    head = local.choice(prefixes.split(","))
                    code = f"{head}-{local.choice('0000001234')}{local.randint(0, 999):03d}"
                used.add(code)
                has_chome = real is not None or local.random() < 0.7
                towns.append(Town(pref, city, town, code, area, has_chome))
                weights.append(float(population) / len(cities) / len(names))
    return tuple(towns), tuple(accumulate(weights))


TOWNS, TOWN_CUM = _build_towns()
PREFECTURES: tuple[str, ...] = tuple(dict.fromkeys(t.prefecture for t in TOWNS))

# ---------------------------------------------------------------------------------------------
# Script conversions

_KANA = (
    "あa いi うu えe おo かka きki くku けke こko がga ぎgi ぐgu げge ごgo さsa しshi すsu "
    "せse そso ざza じji ずzu ぜze ぞzo たta ちchi つtsu てte とto だda ぢji づzu でde どdo "
    "なna にni ぬnu ねne のno はha ひhi ふfu へhe ほho ばba びbi ぶbu べbe ぼbo ぱpa ぴpi ぷpu "
    "ぺpe ぽpo まma みmi むmu めme もmo やya ゆyu よyo らra りri るru れre ろro わwa をo んn "
    "ぁa ぃi ぅu ぇe ぉo"
)
_KUNREI_DIFF = {"し": "si", "じ": "zi", "ち": "ti", "つ": "tu", "ぢ": "zi", "ふ": "hu"}


def _romaji_tables() -> tuple[dict[str, str], dict[str, str]]:
    hepburn = {item[0]: item[1:] for item in _KANA.split()}
    kunrei = hepburn | _KUNREI_DIFF
    for base in "きぎしじちぢにひびぴみり":
        for small, vowel in zip("ゃゅょ", "auo", strict=True):
            h = hepburn[base]
            stem = {"shi": "sh", "chi": "ch", "ji": "j"}.get(h, h[:-1] + "y")
            hepburn[base + small] = stem + vowel
            kunrei[base + small] = kunrei[base][:-1] + "y" + vowel
    return hepburn, kunrei


_HEPBURN, _KUNREI = _romaji_tables()
_KEYS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {r[i]: r[max(i - 1, 0) : i] + r[i + 1 : i + 2] for r in _KEYS for i in range(len(r))}
_ADDRESS = re.compile(r"(\D+?)(\d+)(?:-(\d+))?(?:-(\d+))?")  # 西新宿2-8-1, 本町8-1, 本町1234
_PLAIN = str.maketrans(
    {"ā": "a", "ī": "i", "ū": "u", "ē": "e", "ō": "o", "Ō": "O", "Ū": "U", "'": None}
)
_CIRCUMFLEX = str.maketrans({"ā": "â", "ī": "î", "ū": "û", "ē": "ê", "ō": "ô", "Ō": "Ô", "Ū": "Û"})
SCRIPTS = ("kanji", "katakana", "hiragana", "halfwidth", "romaji", "fw_romaji")
ROMAJI_STYLES = ("plain", "macron", "wapuro", "oh", "circumflex", "kunrei")


def to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


SIMILAR_KANA: dict[str, str] = {
    c: group.replace(c, "")
    for hira in _KANA_SETS.split()
    for group in (hira, to_katakana(hira))
    for c in group
}


def to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def to_halfwidth_kana(text: str) -> str:
    """Full-width katakana to half-width (サトウ → ｻﾄｳ); other characters unchanged."""
    return str(jaconv.z2h(text, kana=True, ascii=False, digit=False))


def to_fullwidth(text: str) -> str:
    """ASCII letters, digits and signs to their full-width forms (Sato-1 → Ｓａｔｏ－１)."""
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text
    )


def kana_to_romaji(kana: str, *, kunrei: bool = False, apostrophe: bool = False) -> str:
    """Kana spelt out letter by letter ("wāpuro" romaji): さとう → satou, おおの → oono."""
    table = _KUNREI if kunrei else _HEPBURN
    text = to_hiragana(kana)
    out: list[str] = []
    double = False
    i = 0
    while i < len(text):
        if text[i] == "っ":
            double, i = True, i + 1
            continue
        if text[i : i + 2] in table:
            syllable, i = table[text[i : i + 2]], i + 2
        elif text[i] == "ー":
            syllable, i = (out[-1][-1] if out else ""), i + 1
        else:
            syllable, i = table.get(text[i], text[i]), i + 1
        if double and syllable:
            syllable = "t" + syllable if syllable.startswith("ch") else syllable[0] + syllable
        double = False
        if apostrophe and out and out[-1] == "n" and syllable[:1] in ("a", "i", "u", "e", "o", "y"):
            out[-1] = "n'"
        out.append(syllable)
    return "".join(out)


def romaji(name: Name, style: str = "plain") -> str:
    """Romaji of a name in one of ROMAJI_STYLES, capitalised: Satō, Sato, Satou, Satoh, Satô."""
    if style == "macron":
        return name.romaji
    if style == "circumflex":
        return name.romaji.translate(_CIRCUMFLEX)
    if style in ("wapuro", "kunrei"):
        return kana_to_romaji(name.kana, kunrei=style == "kunrei").capitalize()
    if style == "oh":
        return name.romaji.replace("ō", "oh").replace("Ō", "Oh").translate(_PLAIN)
    return name.romaji.translate(_PLAIN)


_ERAS = (
    (date(2019, 5, 1), "令和", "R"),
    (date(1989, 1, 8), "平成", "H"),
    (date(1926, 12, 25), "昭和", "S"),
)


def wareki(day: date, *, kanji: bool) -> str:
    """A date in the Japanese era calendar: 昭和60年3月4日 (kanji) or S60.3.4."""
    for start, era, letter in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            if kanji:
                shown = "元" if year == 1 else str(year)
                return f"{era}{shown}年{day.month}月{day.day}日"
            return f"{letter}{year}.{day.month}.{day.day}"
    return day.isoformat()


@cache
def spell(name: Name, script: str, style: str = "plain", case: str = "title") -> str:
    """A name written in one of SCRIPTS (romaji in one of ROMAJI_STYLES, title/upper/lower)."""
    if script == "kanji":
        return name.kanji
    if script == "hiragana":
        return name.kana
    if script in ("katakana", "halfwidth"):
        kata = to_katakana(name.kana)
        return kata if script == "katakana" else to_halfwidth_kana(kata)
    text = romaji(name, style)
    text = text.upper() if case == "upper" else text.lower() if case == "lower" else text
    return to_fullwidth(text) if script == "fw_romaji" else text


def typo(rng: random.Random, text: str) -> str:
    """One transposition, deletion, insertion or substitution (by a key nearby on a keyboard,
    a kana with or without dakuten or in small form, another digit)."""
    i, kind = rng.randrange(len(text)), rng.random()
    if kind < 0.25 and len(text) > 1:
        i = min(i, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.5 and len(text) > 2:
        return text[:i] + text[i + 1 :]
    c = text[i]
    near = SIMILAR_KANA.get(c) or ("0123456789".replace(c, "") if c.isdigit() else "")
    if c.isascii() and c.isalpha():
        near = _NEAR[c.lower()].upper() if c.isupper() else _NEAR[c.lower()]
    if not near:
        return text[:i] + text[i + 1 :] if len(text) > 1 else text
    return text[:i] + rng.choice(near) + text[i + (kind >= 0.7) :]


def write_date(day: date, template: str) -> str:
    """A date in one of DATE_FORMATS."""
    if "era" in template:
        return wareki(day, kanji="kanji" in template)
    y, m, d, mm, dd = (
        str(day.year),
        str(day.month),
        str(day.day),
        f"{day.month:02d}",
        f"{day.day:02d}",
    )
    text = template.lower().format(y=y, m=m, d=d, mm=mm, dd=dd)
    return to_fullwidth(text) if "{Y}" in template else text


def write_phone(parts: Sequence[str], template: str) -> str:
    """A phone number given as its three parts ("090", "1234", "5678") in one of PHONE_FORMATS."""
    a, b, c = parts
    text = template.lower().format(a=a, b=b, c=c, a1=a[1:])
    return to_fullwidth(text) if "{A}" in template else text


def address_variants(
    postcode: str, prefecture: str, city: str, address_1: str, address_2: str
) -> list[dict[str, str]]:
    """Other ways to write the same address, each as the fields it changes: 西新宿2丁目8番1号,
    西新宿二丁目8-1, 西新宿２－８－１, 東京都新宿区西新宿2-8-1, building joined, 1600023, 〒160-0023."""
    out: list[dict[str, str]] = []
    m = _ADDRESS.fullmatch(address_1)
    if address_1:
        out.append({"address_1": to_fullwidth(address_1)})
    if m and m.group(3):
        town, n1, n2, n3 = m.groups()
        out.append({"address_1": f"{town}{n1}丁目{n2}番{n3}号" if n3 else f"{town}{n1}番{n2}号"})
        if n3 and len(n1) == 1:
            out.append({"address_1": f"{town}{'〇一二三四五六七八九'[int(n1)]}丁目{n2}-{n3}"})
    if m and prefecture:
        out.append({"address_1": prefecture + city + address_1})
    if address_1 and address_2:
        out.append({"address_1": f"{address_1} {address_2}", "address_2": ""})
    if postcode:
        out += [{"postcode": postcode.replace("-", "")}, {"postcode": "〒" + postcode}]
    return out
