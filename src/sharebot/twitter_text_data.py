"""Facts twitter-text works from, shipped as data (no code): its TLD list and the emoji sequences it
knows. Read by `entities` (X and Mastodon URL rules) and `counting` (X weights). Generated once from the
sources below; do not edit by hand, regenerate.

TLDs: `conformance/tld_lib.yml` of https://github.com/twitter/twitter-text at v3.1.0 (last changed in commit
d066f7a2, March 2020), Apache License 2.0, Copyright 2011 Twitter, Inc. The same list is compiled into the
twitter-text Ruby gem 3.1.0, which Mastodon uses for its URL rule (Gemfile `gem 'twitter-text', '~> 3.1.0'`;
app/lib/extractor.rb extends Twitter::Extractor; app/validators/status_length_validator.rb). It is not
IANA's current list: it has `onion`, and lacks TLDs delegated since 2020 (test: tests/test_tlds.py).

Emoji: the sequences that twitter-text 3.1.0's parseTweet weighs as one emoji (2), i.e. those matched by
the regular expression of twemoji-parser 11.0.2 (https://github.com/twitter/twemoji-parser, MIT licence,
Copyright Twitter Inc.), its emoji extractor. Only sequences of more than one code point are listed: a single
emoji code point weighs 2 anyway. Anything not listed (an unassigned flag pair, a skin tone on an emoji
that takes none, sequences added after Emoji 11.0) is weighed code point by code point.
"""

# --- TLDs (lower case, Unicode form; punycode `xn--` names are matched by pattern) ---------------------------
TLDS_COUNTRY = """
    한국 香港 澳門 新加坡 台灣 台湾 中國 中国 გე ລາວ ไทย ලංකා ഭാരതം ಭಾರತ భారత్ சிங்கப்பூர் இலங்கை இந்தியா ଭାରତ
    ભારત ਭਾਰਤ ভাৰত ভারত বাংলা भारोत भारतम् भारत ڀارت پاکستان موريتانيا مليسيا مصر قطر فلسطين عمان عراق سورية سودان
    تونس بھارت بارت ایران امارات المغرب السعودية الجزائر البحرين الاردن հայ қаз укр срб рф мон мкд ею бел бг ευ ελ
    zw zm za yt ye ws wf vu vn vi vg ve vc va uz uy us um uk ug ua tz tw tv tt tr tp to tn tm tl tk tj th tg tf td
    tc sz sy sx sv su st ss sr so sn sm sl sk sj si sh sg se sd sc sb sa rw ru rs ro re qa py pw pt ps pr pn pm pl
    pk ph pg pf pe pa om nz nu nr np no nl ni ng nf ne nc na mz my mx mw mv mu mt ms mr mq mp mo mn mm ml mk mh mg
    mf me md mc ma ly lv lu lt ls lr lk li lc lb la kz ky kw kr kp kn km ki kh kg ke jp jo jm je it is ir iq io in
    im il ie id hu ht hr hn hm hk gy gw gu gt gs gr gq gp gn gm gl gi gh gg gf ge gd gb ga fr fo fm fk fj fi eu et
    es er eh eg ee ec dz do dm dk dj de cz cy cx cw cv cu cr co cn cm cl ck ci ch cg cf cd cc ca bz by bw bv bt bs
    br bq bo bn bm bl bj bi bh bg bf be bd bb ba az ax aw au at as ar aq ao an am al ai ag af ae ad ac
"""
TLDS_GENERIC = """
    삼성 닷컴 닷넷 香格里拉 餐厅 食品 飞利浦 電訊盈科 集团 通販 购物 谷歌 诺基亚 联通 网络 网站 网店 网址 组织机构
    移动 珠宝 点看 游戏 淡马锡 机构 書籍 时尚 新闻 政府 政务 招聘 手表 手机 我爱你 慈善 微博 广东 工行 家電 娱乐
    天主教 大拿 大众汽车 在线 嘉里大酒店 嘉里 商标 商店 商城 公益 公司 八卦 健康 信息 佛山 企业 中文网 中信 世界
    ポイント ファッション セール ストア コム グーグル クラウド みんな คอม संगठन नेट कॉम همراه موقع موبايلي كوم
    كاثوليك عرب شبكة بيتك بازار العليان ارامكو اتصالات ابوظبي קום сайт рус орг онлайн москва ком католик дети
    zuerich zone zippo zip zero zara zappos yun youtube you yokohama yoga yodobashi yandex yamaxun yahoo yachts
    xyz xxx xperia xin xihuan xfinity xerox xbox wtf wtc wow world works work woodside wolterskluwer wme winners
    wine windows win williamhill wiki wien whoswho weir weibo wedding wed website weber webcam weatherchannel
    weather watches watch warman wanggou wang walter walmart wales vuelos voyage voto voting vote volvo volkswagen
    vodka vlaanderen vivo viva vistaprint vista vision visa virgin vip vin villas viking vig video viajes vet
    versicherung vermögensberatung vermögensberater verisign ventures vegas vanguard vana vacations ups uol uno
    university unicom uconnect ubs ubank tvs tushu tunes tui tube trv trust travelersinsurance travelers
    travelchannel travel training trading trade toys toyota town tours total toshiba toray top tools tokyo today
    tmall tkmaxx tjx tjmaxx tirol tires tips tiffany tienda tickets tiaa theatre theater thd teva tennis temasek
    telefonica telecity tel technology tech team tdk tci taxi tax tattoo tatar tatamotors target taobao talk
    taipei tab systems symantec sydney swiss swiftcover swatch suzuki surgery surf support supply supplies sucks
    style study studio stream store storage stockholm stcgroup stc statoil statefarm statebank starhub star
    staples stada srt srl spreadbetting spot sport spiegel space soy sony song solutions solar sohu software
    softbank social soccer sncf smile smart sling skype sky skin ski site singles sina silk shriram showtime show
    shouji shopping shop shoes shiksha shia shell shaw sharp shangrila sfr sexy sex sew seven ses services sener
    select seek security secure seat search scot scor scjohnson science schwarz schule school scholarships schmidt
    schaeffler scb sca sbs sbi saxo save sas sarl sapo sap sanofi sandvikcoromant sandvik samsung samsclub salon
    sale sakura safety safe saarland ryukyu rwe run ruhr rugby rsvp room rogers rodeo rocks rocher rmit rip rio
    ril rightathome ricoh richardli rich rexroth reviews review restaurant rest republican report repair rentals
    rent ren reliance reit reisen reise rehab redumbrella redstone red recipes realty realtor realestate read raid
    radio racing qvc quest quebec qpon pwc pub prudential pru protection property properties promo progressive
    prof productions prod pro prime press praxi pramerica post porn politie poker pohl pnc plus plumbing
    playstation play place pizza pioneer pink ping pin pid pictures pictet pics piaget physio photos photography
    photo phone philips phd pharmacy pfizer pet pccw pay passagens party parts partners pars paris panerai
    panasonic pamperedchef page ovh ott otsuka osaka origins orientexpress organic org orange oracle open ooo
    onyourside online onl ong one omega ollo oldnavy olayangroup olayan okinawa office off observer obi nyc ntt
    nrw nra nowtv nowruz now norton northwesternmutual nokia nissay nissan ninja nikon nike nico nhk ngo nfl nexus
    nextdirect next news newholland new neustar network netflix netbank net nec nba navy natura nationwide name
    nagoya nadex nab mutuelle mutual museum mtr mtpc mtn msd movistar movie mov motorcycles moto moscow mortgage
    mormon mopar montblanc monster money monash mom moi moe moda mobily mobile mobi mma mls mlb mitsubishi mit
    mint mini mil microsoft miami metlife merckmsd meo menu men memorial meme melbourne meet media med mckinsey
    mcdonalds mcd mba mattel maserati marshalls marriott markets marketing market map mango management man makeup
    maison maif madrid macys luxury luxe lupin lundbeck ltda ltd lplfinancial lpl love lotto lotte london lol loft
    locus locker loans loan llp llc lixil living live lipsy link linde lincoln limo limited lilly like lighting
    lifestyle lifeinsurance life lidl liaison lgbt lexus lego legal lefrak leclerc lease lds lawyer law latrobe
    latino lat lasalle lanxess landrover land lancome lancia lancaster lamer lamborghini ladbrokes lacaixa kyoto
    kuokgroup kred krd kpn kpmg kosher komatsu koeln kiwi kitchen kindle kinder kim kia kfh kerryproperties
    kerrylogistics kerryhotels kddi kaufen juniper juegos jprs jpmorgan joy jot joburg jobs jnj jmp jll jlc jio
    jewelry jetzt jeep jcp jcb java jaguar iwc iveco itv itau istanbul ist ismaili iselect irish ipiranga
    investments intuit international intel int insure insurance institute ink ing info infiniti industries inc
    immobilien immo imdb imamat ikano iinet ifm ieee icu ice icbc ibm hyundai hyatt hughes htc hsbc how house
    hotmail hotels hoteles hot hosting host hospital horse honeywell honda homesense homes homegoods homedepot
    holiday holdings hockey hkt hiv hitachi hisamitsu hiphop hgtv hermes here helsinki help healthcare health
    hdfcbank hdfc hbo haus hangout hamburg hair guru guitars guide guge gucci guardian group grocery gripe green
    gratis graphics grainger gov got gop google goog goodyear goodhands goo golf goldpoint gold godaddy gmx gmo
    gmbh gmail globo global gle glass glade giving gives gifts gift ggee george genting gent gea gdn gbiz gay
    garden gap games game gallup gallo gallery gal fyi futbol furniture fund fun fujixerox fujitsu ftr frontier
    frontdoor frogans frl fresenius free fox foundation forum forsale forex ford football foodnetwork food foo fly
    flsmidth flowers florist flir flights flickr fitness fit fishing fish firmdale firestone fire financial
    finance final film fido fidelity fiat ferrero ferrari feedback fedex fast fashion farmers farm fans fan family
    faith fairwinds fail fage extraspace express exposed expert exchange everbank events eus eurovision etisalat
    esurance estate esq erni ericsson equipment epson epost enterprises engineering engineer energy emerck email
    education edu edeka eco eat earth dvr dvag durban dupont duns dunlop duck dubai dtv drive download dot doosan
    domains doha dog dodge doctor docs dnp diy dish discover discount directory direct digital diet diamonds dhl
    dev design desi dentist dental democrat delta deloitte dell delivery degree deals dealer deal dds dclk day
    datsun dating date data dance dad dabur cyou cymru cuisinella csc cruises cruise crs crown cricket creditunion
    creditcard credit cpa courses coupons coupon country corsica coop cool cookingchannel cooking contractors
    contact consulting construction condos comsec computer compare company community commbank comcast com cologne
    college coffee codes coach clubmed club cloud clothing clinique clinic click cleaning claims cityeats city
    citic citi citadel cisco circle cipriani church chrysler chrome christmas chloe chintai cheap chat chase
    charity channel chanel cfd cfa cern ceo center ceb cbs cbre cbn cba catholic catering cat casino cash caseih
    case casa cartier cars careers career care cards caravan car capitalone capital capetown canon cancerresearch
    camp camera cam calvinklein call cal cafe cab bzh buzz buy business builders build bugatti budapest brussels
    brother broker broadway bridgestone bradesco box boutique bot boston bostik bosch boots booking book boo bond
    bom bofa boehringer boats bnpparibas bnl bmw bms blue bloomberg blog blockbuster blanco blackfriday black biz
    bio bingo bing bike bid bible bharti bet bestbuy best berlin bentley beer beauty beats bcn bcg bbva bbt bbc
    bayern bauhaus basketball baseball bargains barefoot barclays barclaycard barcelona bar bank band
    bananarepublic banamex baidu baby azure axa aws avianca autos auto author auspost audio audible audi auction
    attorney athleta associates asia asda arte art arpa army archi aramco arab aquarelle apple app apartments aol
    anz anquan android analytics amsterdam amica amfam amex americanfamily americanexpress alstom alsace ally
    allstate allfinanz alipay alibaba alfaromeo akdn airtel airforce airbus aigo aig agency agakhan africa afl
    afamilycompany aetna aero aeg adult ads adac actor active aco accountants accountant accenture academy
    abudhabi abogado able abc abbvie abbott abb abarth aarp aaa onion
"""

# --- emoji sequences, code points in hex -------------------------------------------------------------------
# A character from these ranges followed by U+FE0F is one emoji.
EMOJI_WITH_FE0F = """
    A9 AE 203C 2049 2122 2139 2194-2199 21A9-21AA 231A-231B 2328 23CF 23ED-23EF 23F1-23F2 23F8-23FA 24C2 25AA-25AB
    25B6 25C0 25FB-25FE 2600-2604 260E 2611 2614-2615 2618 261D 2620 2622-2623 2626 262A 262E-262F 2638-263A 2640
    2642 2648-2653 265F-2660 2663 2665-2666 2668 267B 267F 2692-2697 2699 269B-269C 26A0-26A1 26AA-26AB 26B0-26B1
    26BD-26BE 26C4-26C5 26C8 26CF 26D1 26D3-26D4 26E9-26EA 26F0-26F5 26F7-26FA 26FD 2702 2708-2709 270C-270D 270F
    2712 2714 2716 271D 2721 2733-2734 2744 2747 2757 2763-2764 27A1 2934-2935 2B05-2B07 2B1B-2B1C 2B50 2B55 3030
    303D 3297 3299 1F004 1F170-1F171 1F17E-1F17F 1F202 1F21A 1F22F 1F237 1F321 1F324-1F32C 1F336 1F37D 1F396-1F397
    1F399-1F39B 1F39E-1F39F 1F3CB-1F3CE 1F3D4-1F3DF 1F3F3 1F3F5 1F3F7 1F43F 1F441 1F4FD 1F549-1F54A 1F56F-1F570
    1F573-1F579 1F587 1F58A-1F58D 1F590 1F5A5 1F5A8 1F5B1-1F5B2 1F5BC 1F5C2-1F5C4 1F5D1-1F5D3 1F5DC-1F5DE 1F5E1
    1F5E3 1F5E8 1F5EF 1F5F3 1F5FA 1F6CB 1F6CD-1F6CF 1F6E0-1F6E5 1F6E9 1F6F0 1F6F3
"""
# A character from these ranges followed by a skin tone (U+1F3FB-1F3FF) is one emoji; so is one that is also
# in EMOJI_WITH_FE0F followed by U+FE0F and then a skin tone.
EMOJI_MODIFIER_BASES = """
    261D 26F7 26F9 270A-270D 1F385 1F3C2-1F3C4 1F3C7 1F3CA-1F3CC 1F442-1F443 1F446-1F450 1F466-1F469 1F46E
    1F470-1F478 1F47C 1F481-1F483 1F485-1F487 1F4AA 1F574-1F575 1F57A 1F590 1F595-1F596 1F645-1F647 1F64B-1F64F
    1F6A3 1F6B4-1F6B6 1F6C0 1F6CC 1F918-1F91C 1F91E-1F91F 1F926 1F930-1F939 1F93D-1F93E 1F9B5-1F9B6 1F9B8-1F9B9
    1F9D1-1F9DD
"""
# "#", "*" and the digits, then an optional U+FE0F, then U+20E3.
KEYCAP_BASES = "#*0123456789"
# Flags: pairs of regional indicators, by region code.
FLAGS = """
    AC AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CP CR CU CV CW CX CY CZ DE DG DJ DK DM DO DZ EA EC EE EG EH ER ES ET EU
    FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU IC ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG
    MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD
    TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM UN US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
# Subdivision flags: U+1F3F4, the tag characters for these letters, U+E007F.
TAG_FLAGS = "gbeng gbsct gbwls"
# ZWJ sequences; "S" stands for any one of the five skin tones.
ZWJ_SEQUENCES = """
    1F3C3-200D-2640-FE0F 1F3C3-200D-2642-FE0F 1F3C3-S-200D-2640-FE0F 1F3C3-S-200D-2642-FE0F 1F3C4-200D-2640-FE0F
    1F3C4-200D-2642-FE0F 1F3C4-S-200D-2640-FE0F 1F3C4-S-200D-2642-FE0F 1F3CA-200D-2640-FE0F 1F3CA-200D-2642-FE0F
    1F3CA-S-200D-2640-FE0F 1F3CA-S-200D-2642-FE0F 1F3CB-FE0F-200D-2640-FE0F 1F3CB-FE0F-200D-2642-FE0F
    1F3CB-S-200D-2640-FE0F 1F3CB-S-200D-2642-FE0F 1F3CC-FE0F-200D-2640-FE0F 1F3CC-FE0F-200D-2642-FE0F
    1F3CC-S-200D-2640-FE0F 1F3CC-S-200D-2642-FE0F 1F3F3-FE0F-200D-1F308 1F3F4-200D-2620-FE0F 1F441-200D-1F5E8
    1F468-200D-1F33E 1F468-200D-1F373 1F468-200D-1F393 1F468-200D-1F3A4 1F468-200D-1F3A8 1F468-200D-1F3EB
    1F468-200D-1F3ED 1F468-200D-1F466 1F468-200D-1F466-200D-1F466 1F468-200D-1F467 1F468-200D-1F467-200D-1F466
    1F468-200D-1F467-200D-1F467 1F468-200D-1F468-200D-1F466 1F468-200D-1F468-200D-1F466-200D-1F466
    1F468-200D-1F468-200D-1F467 1F468-200D-1F468-200D-1F467-200D-1F466 1F468-200D-1F468-200D-1F467-200D-1F467
    1F468-200D-1F469-200D-1F466 1F468-200D-1F469-200D-1F466-200D-1F466 1F468-200D-1F469-200D-1F467
    1F468-200D-1F469-200D-1F467-200D-1F466 1F468-200D-1F469-200D-1F467-200D-1F467 1F468-200D-1F4BB
    1F468-200D-1F4BC 1F468-200D-1F527 1F468-200D-1F52C 1F468-200D-1F680 1F468-200D-1F692 1F468-200D-1F9B0
    1F468-200D-1F9B1 1F468-200D-1F9B2 1F468-200D-1F9B3 1F468-200D-2695-FE0F 1F468-200D-2696-FE0F
    1F468-200D-2708-FE0F 1F468-200D-2764-FE0F-200D-1F468 1F468-200D-2764-FE0F-200D-1F48B-200D-1F468
    1F468-S-200D-1F33E 1F468-S-200D-1F373 1F468-S-200D-1F393 1F468-S-200D-1F3A4 1F468-S-200D-1F3A8
    1F468-S-200D-1F3EB 1F468-S-200D-1F3ED 1F468-S-200D-1F4BB 1F468-S-200D-1F4BC 1F468-S-200D-1F527
    1F468-S-200D-1F52C 1F468-S-200D-1F680 1F468-S-200D-1F692 1F468-S-200D-1F9B0 1F468-S-200D-1F9B1
    1F468-S-200D-1F9B2 1F468-S-200D-1F9B3 1F468-S-200D-2695-FE0F 1F468-S-200D-2696-FE0F 1F468-S-200D-2708-FE0F
    1F469-200D-1F33E 1F469-200D-1F373 1F469-200D-1F393 1F469-200D-1F3A4 1F469-200D-1F3A8 1F469-200D-1F3EB
    1F469-200D-1F3ED 1F469-200D-1F466 1F469-200D-1F466-200D-1F466 1F469-200D-1F467 1F469-200D-1F467-200D-1F466
    1F469-200D-1F467-200D-1F467 1F469-200D-1F469-200D-1F466 1F469-200D-1F469-200D-1F466-200D-1F466
    1F469-200D-1F469-200D-1F467 1F469-200D-1F469-200D-1F467-200D-1F466 1F469-200D-1F469-200D-1F467-200D-1F467
    1F469-200D-1F4BB 1F469-200D-1F4BC 1F469-200D-1F527 1F469-200D-1F52C 1F469-200D-1F680 1F469-200D-1F692
    1F469-200D-1F9B0 1F469-200D-1F9B1 1F469-200D-1F9B2 1F469-200D-1F9B3 1F469-200D-2695-FE0F 1F469-200D-2696-FE0F
    1F469-200D-2708-FE0F 1F469-200D-2764-FE0F-200D-1F468 1F469-200D-2764-FE0F-200D-1F469
    1F469-200D-2764-FE0F-200D-1F48B-200D-1F468 1F469-200D-2764-FE0F-200D-1F48B-200D-1F469 1F469-S-200D-1F33E
    1F469-S-200D-1F373 1F469-S-200D-1F393 1F469-S-200D-1F3A4 1F469-S-200D-1F3A8 1F469-S-200D-1F3EB
    1F469-S-200D-1F3ED 1F469-S-200D-1F4BB 1F469-S-200D-1F4BC 1F469-S-200D-1F527 1F469-S-200D-1F52C
    1F469-S-200D-1F680 1F469-S-200D-1F692 1F469-S-200D-1F9B0 1F469-S-200D-1F9B1 1F469-S-200D-1F9B2
    1F469-S-200D-1F9B3 1F469-S-200D-2695-FE0F 1F469-S-200D-2696-FE0F 1F469-S-200D-2708-FE0F 1F46E-200D-2640-FE0F
    1F46E-200D-2642-FE0F 1F46E-S-200D-2640-FE0F 1F46E-S-200D-2642-FE0F 1F46F-200D-2640-FE0F 1F46F-200D-2642-FE0F
    1F471-200D-2640-FE0F 1F471-200D-2642-FE0F 1F471-S-200D-2640-FE0F 1F471-S-200D-2642-FE0F 1F473-200D-2640-FE0F
    1F473-200D-2642-FE0F 1F473-S-200D-2640-FE0F 1F473-S-200D-2642-FE0F 1F477-200D-2640-FE0F 1F477-200D-2642-FE0F
    1F477-S-200D-2640-FE0F 1F477-S-200D-2642-FE0F 1F481-200D-2640-FE0F 1F481-200D-2642-FE0F 1F481-S-200D-2640-FE0F
    1F481-S-200D-2642-FE0F 1F482-200D-2640-FE0F 1F482-200D-2642-FE0F 1F482-S-200D-2640-FE0F 1F482-S-200D-2642-FE0F
    1F486-200D-2640-FE0F 1F486-200D-2642-FE0F 1F486-S-200D-2640-FE0F 1F486-S-200D-2642-FE0F 1F487-200D-2640-FE0F
    1F487-200D-2642-FE0F 1F487-S-200D-2640-FE0F 1F487-S-200D-2642-FE0F 1F574-FE0F-200D-2640-FE0F
    1F574-FE0F-200D-2642-FE0F 1F574-S-200D-2640-FE0F 1F574-S-200D-2642-FE0F 1F575-FE0F-200D-2640-FE0F
    1F575-FE0F-200D-2642-FE0F 1F575-S-200D-2640-FE0F 1F575-S-200D-2642-FE0F 1F645-200D-2640-FE0F
    1F645-200D-2642-FE0F 1F645-S-200D-2640-FE0F 1F645-S-200D-2642-FE0F 1F646-200D-2640-FE0F 1F646-200D-2642-FE0F
    1F646-S-200D-2640-FE0F 1F646-S-200D-2642-FE0F 1F647-200D-2640-FE0F 1F647-200D-2642-FE0F 1F647-S-200D-2640-FE0F
    1F647-S-200D-2642-FE0F 1F64B-200D-2640-FE0F 1F64B-200D-2642-FE0F 1F64B-S-200D-2640-FE0F 1F64B-S-200D-2642-FE0F
    1F64D-200D-2640-FE0F 1F64D-200D-2642-FE0F 1F64D-S-200D-2640-FE0F 1F64D-S-200D-2642-FE0F 1F64E-200D-2640-FE0F
    1F64E-200D-2642-FE0F 1F64E-S-200D-2640-FE0F 1F64E-S-200D-2642-FE0F 1F6A3-200D-2640-FE0F 1F6A3-200D-2642-FE0F
    1F6A3-S-200D-2640-FE0F 1F6A3-S-200D-2642-FE0F 1F6B4-200D-2640-FE0F 1F6B4-200D-2642-FE0F 1F6B4-S-200D-2640-FE0F
    1F6B4-S-200D-2642-FE0F 1F6B5-200D-2640-FE0F 1F6B5-200D-2642-FE0F 1F6B5-S-200D-2640-FE0F 1F6B5-S-200D-2642-FE0F
    1F6B6-200D-2640-FE0F 1F6B6-200D-2642-FE0F 1F6B6-S-200D-2640-FE0F 1F6B6-S-200D-2642-FE0F 1F926-200D-2640-FE0F
    1F926-200D-2642-FE0F 1F926-S-200D-2640-FE0F 1F926-S-200D-2642-FE0F 1F935-200D-2640-FE0F 1F935-200D-2642-FE0F
    1F935-S-200D-2640-FE0F 1F935-S-200D-2642-FE0F 1F937-200D-2640-FE0F 1F937-200D-2642-FE0F 1F937-S-200D-2640-FE0F
    1F937-S-200D-2642-FE0F 1F938-200D-2640-FE0F 1F938-200D-2642-FE0F 1F938-S-200D-2640-FE0F 1F938-S-200D-2642-FE0F
    1F939-200D-2640-FE0F 1F939-200D-2642-FE0F 1F939-S-200D-2640-FE0F 1F939-S-200D-2642-FE0F 1F93C-200D-2640-FE0F
    1F93C-200D-2642-FE0F 1F93D-200D-2640-FE0F 1F93D-200D-2642-FE0F 1F93D-S-200D-2640-FE0F 1F93D-S-200D-2642-FE0F
    1F93E-200D-2640-FE0F 1F93E-200D-2642-FE0F 1F93E-S-200D-2640-FE0F 1F93E-S-200D-2642-FE0F 1F9B8-200D-2640-FE0F
    1F9B8-200D-2642-FE0F 1F9B8-S-200D-2640-FE0F 1F9B8-S-200D-2642-FE0F 1F9B9-200D-2640-FE0F 1F9B9-200D-2642-FE0F
    1F9B9-S-200D-2640-FE0F 1F9B9-S-200D-2642-FE0F 1F9D6-200D-2640-FE0F 1F9D6-200D-2642-FE0F 1F9D6-S-200D-2640-FE0F
    1F9D6-S-200D-2642-FE0F 1F9D7-200D-2640-FE0F 1F9D7-200D-2642-FE0F 1F9D7-S-200D-2640-FE0F 1F9D7-S-200D-2642-FE0F
    1F9D8-200D-2640-FE0F 1F9D8-200D-2642-FE0F 1F9D8-S-200D-2640-FE0F 1F9D8-S-200D-2642-FE0F 1F9D9-200D-2640-FE0F
    1F9D9-200D-2642-FE0F 1F9D9-S-200D-2640-FE0F 1F9D9-S-200D-2642-FE0F 1F9DA-200D-2640-FE0F 1F9DA-200D-2642-FE0F
    1F9DA-S-200D-2640-FE0F 1F9DA-S-200D-2642-FE0F 1F9DB-200D-2640-FE0F 1F9DB-200D-2642-FE0F 1F9DB-S-200D-2640-FE0F
    1F9DB-S-200D-2642-FE0F 1F9DC-200D-2640-FE0F 1F9DC-200D-2642-FE0F 1F9DC-S-200D-2640-FE0F 1F9DC-S-200D-2642-FE0F
    1F9DD-200D-2640-FE0F 1F9DD-200D-2642-FE0F 1F9DD-S-200D-2640-FE0F 1F9DD-S-200D-2642-FE0F 1F9DE-200D-2640-FE0F
    1F9DE-200D-2642-FE0F 1F9DF-200D-2640-FE0F 1F9DF-200D-2642-FE0F 26F9-FE0F-200D-2640-FE0F
    26F9-FE0F-200D-2642-FE0F 26F9-S-200D-2640-FE0F 26F9-S-200D-2642-FE0F
"""
