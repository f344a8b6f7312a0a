# ruff: noqa: E501  (one news post per row reads better than strings split mid-sentence)
"""The default pack, table by table: invented posts per language, with their hard negatives.

Each row is (text, category or None). A category means the post must be flagged and the best
match must give that category; None means the post must not be flagged.
"""

from __future__ import annotations

import pytest

from monitor.rules import RuleSet, load_ruleset

RU = [
    ("«Дезертир» — новый фильм о войне 1812 года — выходит в прокат в мае.", None),
    (
        "Экипаж танка отказался выдвигаться к линии соприкосновения, на командира подали рапорт.",
        "mutiny",
    ),
    (
        "Суд в Чите отправил в колонию на 4 года рядового, который дважды самовольно уходил из части и жил у подруги.",
        "awol",
    ),
    (
        "Мобилизованный из Омска не вернулся в подразделение после отпуска по ранению. Его нашли через два месяца на рыбалке.",
        "awol",
    ),
    (
        "В Бурятии полицейские задержали военнослужащего, находившегося в самоволке с декабря.",
        "awol",
    ),
    ("Адвокаты фиксируют рост дел о СОЧ: только в Московском гарнизонном суде их сотни.", "awol"),
    (
        "Контрактник самовольно оставил место службы в Белгородской области и уехал к семье в Оренбург. Возбуждено уголовное дело.",
        "awol",
    ),
    (
        "Военная полиция задержала в Ростове троих солдат, которые больше месяца не появлялись в части.",
        "awol",
    ),
    (
        "Под Красноярском задержали военного, который полтора года скрывался от службы после отпуска. Ему вменяют дезертирство.",
        "desertion",
    ),
    (
        "Российский контрактник бежал в Армению и попросил не выдавать его России — он отказался воевать и покинул позиции.",
        "desertion",
    ),
    (
        "Бывший десантник сдался в плен добровольно, позвонив на горячую линию «Хочу жить».",
        "desertion",
    ),
    (
        "Пятеро мобилизованных сбежали из пункта сбора в Воронежской области, воспользовавшись пересменкой охраны.",
        "escape",
    ),
    (
        "Раненый боец ушёл из военного госпиталя в Ростове, не дождавшись выписки, и уехал домой. Его ищет комендатура.",
        "escape",
    ),
    (
        "Из учебного центра под Новосибирском ночью сбежали двое новобранцев, их ищут полиция и военные.",
        "escape",
    ),
    (
        "Рота мобилизованных отказалась выдвигаться на передовую без обещанной техники, командир пригрозил трибуналом.",
        "mutiny",
    ),
    (
        "Военнослужащие 3-го батальона отказались идти в атаку и записали видеообращение к президенту.",
        "mutiny",
    ),
    (
        "В части под Луганском вспыхнул бунт: контрактники потребовали выплат и отказались выполнять приказы.",
        "mutiny",
    ),
    (
        "В Каспийске возбудили дело после того, как сержант избил рядового за «плохо вычищенный автомат».",
        "hazing",
    ),
    (
        "Мать солдата-срочника заявила о дедовщине в части под Псковом: сына избивали и отбирали деньги.",
        "hazing",
    ),
    (
        "Офицер издевался над подчинёнными, заставляя их часами стоять на морозе. Военная прокуратура начала проверку.",
        "hazing",
    ),
    ("Прапорщик воинской части в Самаре похитил со склада 3 тонны дизельного топлива.", "crime"),
    ("В Курской области контрактник застрелил двоих сослуживцев после ссоры и скрылся.", "crime"),
    ("Военнослужащий подозревается в изнасиловании жительницы Ставрополя, он задержан.", "crime"),
    ("Командир батальона брал взятки с бойцов за отпуск и перевод в тыл.", "crime"),
    ("Большая часть регионов России перешла на летнее время работы поликлиник.", None),
    ("В Сочи открылся новый аквапарк, первые посетители уже оценили горки.", None),
    ("Заключённый сбежал из СИЗО в Челябинске, разобрав решётку, его ищут.", None),
    ("Хоккеист «Авангарда» самовольно покинул расположение команды и был отстранён.", None),
    ("Военнослужащие провели разминирование поля в Курской области.", None),
    (
        "Минобороны: российские войска освободили ещё два населённых пункта, противник отступил.",
        None,
    ),
    ("Военкоматы Москвы начали весенний призыв, повестки приходят через Госуслуги.", None),
    ("Отказники от ЕГЭ: сколько выпускников не пришли на экзамен по математике.", None),
    ("В роддоме Кемерова остались трое малышей-отказников, опека ищет семьи.", None),
    ("Бунт на корабле: акционеры «Аэрофлота» выступили против нового плана.", None),
    ("Из приюта сбежала собака, хозяева просят помочь с поиском.", None),
    ("Рядовые сотрудники банка получат премии к Новому году.", None),
    ("Часть дороги в Краснодаре перекрыта из-за ремонта теплотрассы.", None),
    ("Ветеран СВО открыл в родном селе столярную мастерскую.", None),
    ("Военный эксперт рассказал, почему наступление противника захлебнулось.", None),
    ("Солдаты вернулись из зоны СВО домой — их встретили родные с цветами.", None),
    ("Росгвардия задержала в Екатеринбурге мошенника, который скрывался от следствия.", None),
    ("Школьник сбежал с уроков на концерт, родители нашли его через геолокацию.", None),
    ("Суд отказал в иске к военкомату о признании отсрочки.", None),
    ("Сочинение по литературе: учитель из Уфы стал лучшим в стране.", None),
    # Indirect tellings and hard negatives from fresh invented held-out posts.
    (
        "Сержант из Бурятии получил отпуск на 14 дней, но так и не приехал обратно в расположение. Через полгода его нашли сотрудники военной полиции в Улан-Удэ.",
        "awol",
    ),
    (
        "Курсант военного училища в Рязани трижды уходил в город без увольнительной и в итоге получил реальный срок.",
        "awol",
    ),
    (
        "Главное к утру:\n• В Москве до +25, без осадков.\n• В Тверской области задержали рядового, который с января не появлялся в своей воинской части.\n• «Спартак» сыграет с «Локомотивом» в субботу.",
        "awol",
    ),
    (
        "Сдался в плен сам: российский штурмовик вышел к позициям ВСУ с поднятыми руками и рассказал, что его роту бросили без еды.",
        "desertion",
    ),
    (
        "Около сотни военнослужащих, задержанных за СОЧ, прорвали забор в посёлке и разбежались.",
        "escape",
    ),
    (
        "Видео: мобилизованные жалуются, что их отправляют в бой без подготовки, и заявляют, что «воевать больше не будут».",
        "mutiny",
    ),
    (
        "Сослуживцы заставляли 19-летнего призывника мыть полы зубной щёткой и снимали это на видео.",
        "hazing",
    ),
    ("Пьяный военнослужащий на «Ниве» сбил двух пешеходов и пытался скрыться.", "crime"),
    (
        "Военнослужащего приговорили к 9 годам за убийство таксиста, совершённое во время отпуска.",
        "crime",
    ),
    (
        "По ст. 335 ГК РФ поручитель вправе выдвигать против кредитора возражения — разбираем практику.",
        None,
    ),
    ("Офицер полиции отказался от комментариев по делу о взятке в ГИБДД.", None),
    ("Бывший офицер написал книгу о дедовщине в советской армии 80-х.", None),
    ("Учения: военная полиция отработала задержание нарушителей на КПП.", None),
    ("Группа выпустила новую песню «Самоволка» — клип набрал миллион просмотров.", None),
    (
        "Сотни людей бежали из Белгорода из-за обстрелов, открыты пункты временного размещения.",
        None,
    ),
    ("Пьяный водитель врезался в автобус с военнослужащими; пострадали пятеро бойцов.", None),
    ("ВСУ покинули позиции у Работино, сообщает Минобороны России.", None),
    ("Рота контрактников взбунтовалась на полигоне: требуют ротации и выплат.", "mutiny"),
    ("Бойцы 2-го батальона написали рапорты: на передок без артподдержки идти не хотят.", "mutiny"),
    (
        "Мобилизованный, приехавший в отпуск с фронта, застрелил тестя из охотничьего ружья.",
        "crime",
    ),
    ("Контрактник пытался продать гранату знакомому — задержан.", "crime"),
    (
        "Военные суды за квартал рассмотрели 3 тысячи дел о СОЧ и дезертирстве, подсчитали журналисты.",
        "desertion",
    ),
    ("Бывший контрактник, отбывающий срок за разбой, сбежал из колонии в Коми.", None),
    ("Ветераны СВО отказались от премии губернатора и передали деньги госпиталю.", None),
    ("Вышел документальный фильм о мятеже в Кронштадте 1921 года.", None),
    ("Кот ушёл из части в соседнюю деревню — бойцы ищут своего талисмана.", None),
    ("Солдат, бросивший позиции под Работино, задержан в Туле спустя год.", "desertion"),
    ("Срочника, пропавшего из части в Каменке, нашли у родственников в Выборге.", "awol"),
    ("Следователи проверяют рядового, не прибывшего в часть из отпуска.", "awol"),
    (
        "Караульный бросил пост у склада ГСМ и ушёл в посёлок, его задержала военная полиция.",
        "awol",
    ),
    ("Два бойца «ушли в самоход» из бригады под Купянском, их ищут командиры.", "awol"),
    ("Суд: военнослужащий симулировал эпилепсию, ч. 1 ст. 339 УК РФ.", "awol"),
    ("Мобилизованных, отказавшихся идти на штурм без бронежилетов, заперли в ангаре.", "mutiny"),
    ("Военного осудили за отказ участвовать в боевых действиях — три года колонии.", "mutiny"),
    ("Контрактник в кубрике ударил ножом сослуживца после ссоры из-за телефона.", "crime"),
    ("Командир взвода сломал нос рядовому за опоздание на построение.", "hazing"),
    ("Военный убит при обстреле Херсона, ещё двое ранены.", None),
    ("Дезертирство покупателей: маркетплейсы теряют аудиторию после подорожания доставки.", None),
    ("В Казахстане школьники пишут СОЧ по математике за четверть.", None),
    ("Самоволка в летнем лагере: подростки ночью ушли купаться, вожатых уволили.", None),
    ("Губернатор оставил пост досрочно, указ уже подписан.", None),
    ("Командир роты сломал ногу на учениях и попал в госпиталь.", None),
    ("Сослуживцы пытались спасти раненого бойца, но он умер.", None),
    ("Из части в Кронштадте ушли на учения 300 матросов.", None),
    (
        "Разведчик, полтора года назад ушедший с линии фронта, живёт в Тбилиси под чужим именем.",
        "desertion",
    ),
    ("Сапёр после отпуска так и не поехал обратно в бригаду — его объявили в розыск.", "awol"),
    (
        "Двое морпехов самовольно отлучились с базы в Балтийске и были задержаны в Калининграде.",
        "awol",
    ),
    ("По подозрению в разбое задержан контрактник местной мотострелковой бригады.", "crime"),
    ("Офицер, будучи пьяным, протаранил на служебном внедорожнике остановку в Чите.", "crime"),
    ("Трое мобилизованных угнали грузовик из части и уехали в Курск.", "awol"),
    ("Подросток выпрыгнул из окна военкомата, когда ему принесли повестку на медкомиссию.", None),
    ("Мужчина сбежал из военкомата, не дождавшись конца медосмотра.", None),
    ("По делу о нападении на военнослужащего в Чите задержан местный житель.", None),
    ("Нападающий «Урала» не вернулся из отпуска к началу сборов, клуб выписал ему штраф.", None),
    ("Мотострелки покинули пункт временной дислокации и выдвинулись к линии фронта.", None),
    (
        "Двое контрактников выпрыгнули из вагона воинского эшелона под Самарой, их ищет военная полиция.",
        "escape",
    ),
    (
        "Из поезда, который вёз новобранцев на полигон, на стоянке в Чите исчезли четверо — возбуждено уголовное дело.",
        "escape",
    ),
    ("Военнослужащий погиб, попав под поезд на станции, проводится проверка.", None),
    ("Мобилизованные вышли из поезда в Екатеринбурге, где их встретили родные с цветами.", None),
    (
        "Командир взвода держал провинившихся солдат в яме по несколько суток, рассказали родственники.",
        "hazing",
    ),
    ("Прапорщик в наказание запирал срочников в металлическом контейнере на морозе.", "hazing"),
    ("Командир рассказал, как бойцы держат оборону в подвалах разрушенного завода.", None),
    ("Боевики держали пленных в яме, рассказали освобождённые военнослужащие.", None),
    (
        "Генерал-лейтенант, бывший командующим армией, задержан по подозрению в получении взятки от подрядчика.",
        "crime",
    ),
    ("Генерал полиции задержан по подозрению во взятке от застройщика.", None),
    (
        "Начальник финансовой службы бригады присвоил выплаты погибших бойцов на 20 млн рублей.",
        "crime",
    ),
    ("Командир полка полгода получал «боевые» за несуществующих солдат — «мёртвые души».", "crime"),
    ("Командир рассказал, что бойцы получали выплаты вовремя и без задержек.", None),
    ("Мэр присвоил выплаты пострадавшим от паводка, возбуждено дело.", None),
    ("Сослуживцы пытают молодого солдата утюгом и снимают это на видео.", "hazing"),
    ("Пленных пытают в подвалах, сообщили освобождённые военнослужащие.", None),
    (
        "Муж ушёл в соч ещё в марте, теперь ему грозит до десяти лет — пишет жена мобилизованного.",
        "awol",
    ),
    ("Сколько человек сейчас находится в соч, в Минобороны не говорят.", "awol"),
    ("Цитата по: Толстой Л. Н. Собр. соч. в 22 т. — М., 1982.", None),
    (
        "На границе с Грузией задержан контрактник, предъявивший поддельный приказ об увольнении.",
        "desertion",
    ),
    (
        "Мобилизованные устроили драку с офицерами, когда их пытались отправить на передовую без ротации.",
        "mutiny",
    ),
    ("Срочники оказали сопротивление конвою, когда их хотели отправить в зону СВО.", "mutiny"),
    ("Офицеры полиции подрались с фанатами на стадионе.", None),
    ("Солдат-срочник угнал военный грузовик из части и разбил его о столб.", "crime"),
    ("Контрактник угнал танк из расположения и уехал в соседнее село за водкой.", "crime"),
    ("Украинские военные захватили трофейный танк у противника.", None),
    (
        "После отпуска сержант должен был прибыть в часть, но остался у родителей в Саратове и полгода скрывался.",
        "awol",
    ),
    ("Футболист должен был вернуться в клуб после отпуска, но остался в Испании.", None),
    (
        "Военнослужащий должен был вернуться в часть 10 января, сообщил командир, и вернулся вовремя.",
        None,
    ),
    (
        "Начальник строевой части за деньги оформлял бойцам фиктивные отпуска, задержан военной контрразведкой.",
        "crime",
    ),
    (
        "Майор продавал мобилизованным переводы в тыловые подразделения по 300 тысяч рублей.",
        "crime",
    ),
    ("Врач военкомата продавал призывникам справки об отсрочке, задержан.", None),
    ("Мобилизованные объявили голодовку в расположении части, требуя ротации.", "mutiny"),
    ("Жёны мобилизованных объявили голодовку у здания Минобороны, требуя ротации.", None),
    ("Задержанный за СОЧ контрактник выбил окно в комнате для задержанных и сбежал.", "escape"),
    ("Из пункта временной дислокации ночью сбежали шестеро бойцов, троих уже задержали.", "escape"),
    ("Историк рассказал, как боролись с дезертирством в Красной армии в 1942 году.", None),
    ("Лейтенант полиции скрылся с места аварии и сбежал от патруля.", None),
    ("Российский военный сбежал из украинского плена и добрался до своих.", None),
    ("Ефрейтор опоздал из отпуска на три недели: гарнизонный суд назначил ему штраф.", "awol"),
    (
        "Мобилизованный из Барнаула после госпиталя «задержался» у семьи на полгода, возбуждено дело по ст. 337.",
        "awol",
    ),
    ("Депутат опоздал из отпуска на первое заседание думы.", None),
    ("Рядовой украл у сослуживца банковскую карту и перевёл себе 90 тысяч рублей.", "crime"),
    ("Солдат снял видео вместе с сослуживцами на полигоне.", None),
    (
        "Из райвоенкомата в Коврове пропали двое задержанных сочевиков, их должны были вернуть в часть.",
        "escape",
    ),
    ("Из горвоенкомата исчезли личные дела призывников, возбуждено дело.", None),
    (
        "Контрактник ушёл из областного военного госпиталя в Чите, не дождавшись выписки. Его ищет комендатура.",
        "escape",
    ),
    ("Боец ушёл в окружной госпиталь на обследование, рассказали сослуживцы.", None),
    (
        "Из подвала, где командиры держали мобилизованных отказников, ночью сбежали четверо, рассказали их жёны.",
        "escape",
    ),
    ("Мирные жители бежали из больницы под обстрелом, военнослужащие помогли с эвакуацией.", None),
    (
        "Правозащитники помогли мобилизованному сбежать из армии и выехать из России через Казахстан.",
        "desertion",
    ),
    ("«Идите лесом», — ответил чиновник фермерам на вопрос о субсидиях.", None),
    (
        "Российский контрактник договорился с операторами горячей линии и ночью вышел к украинским позициям без оружия.",
        "desertion",
    ),
    ("Штурмовики вышли к позициям ВСУ и были уничтожены дроном.", None),
    (
        "Трое контрактников из псковской дивизии ограбили ювелирный магазин в Великих Луках.",
        "crime",
    ),
    ("Трое военных, которых ограбили в Ростове, обратились в полицию.", None),
    ("На контрактника напали у бара в Чите, подозреваемые задержаны.", None),
    ("Бывший российский военный задержан за мошенничество со сбором на дроны.", None),
    (
        "Новобранца в учебке под Омском избили во время «прописки», возбуждено уголовное дело.",
        "hazing",
    ),
    ("Срочникам разрешили оформлять прописку по месту службы в казарме.", None),
    (
        "Командир роты привязал провинившегося бойца к дереву на сутки, военная прокуратура начала проверку.",
        "hazing",
    ),
    ("Бойцы привязали флаг к дереву на позиции, сообщил командир.", None),
    ("На полигоне под Ельней взбунтовались мобилизованные: требуют ротации.", "mutiny"),
    (
        "Мобилизованные в казарме устроили погром, требуя отпустить их домой по окончании срока.",
        "mutiny",
    ),
    ("Жёны мобилизованных потребовали вернуть их домой после года на фронте.", None),
    (
        "Видеообращение бойцов батальона: «Мы отказываемся выполнять приказы командира, который гонит нас на убой».",
        "mutiny",
    ),
    (
        "Прапорщик присвоил гуманитарку, которую волонтёры привезли в часть, и продал её на рынке.",
        "crime",
    ),
    ("Волонтёры продали картины, чтобы купить старлинк бойцам.", None),
    ("«Дезертиры информационного фронта»: пропагандист обрушился на уехавших блогеров.", None),
    ("Мятеж 1921 года в Кронштадте: историк рассказал о восстании матросов.", None),
    (
        "Мобилизованный сбежал из части и уехал в Армению, где его задержали по запросу России.",
        "desertion",
    ),
    (
        "Дезертира приговорили к 10 годам: он ушёл из расположения с автоматом и скрывался полгода.",
        "desertion",
    ),
]

UK = [
    ("Військового, який понад пів року перебував у СЗЧ, затримали в Києві поліцейські.", "awol"),
    (
        "Суд призначив 5 років позбавлення волі солдату, що самовільно залишив військову частину на Сумщині.",
        "awol",
    ),
    (
        "Мобілізований не повернувся до частини після лікування в госпіталі, його розшукує ВСП.",
        "awol",
    ),
    ("Понад 200 військових повернулися на службу з СЗЧ за новим законом.", "awol"),
    ("Дезертира, який утік із позицій на Донеччині, затримали в Одесі.", "desertion"),
    (
        "Прикордонники затримали військовослужбовця, який намагався втекти за кордон через гори.",
        "desertion",
    ),
    ("Троє мобілізованих втекли з ТЦК у Вінниці, вибивши вікно.", "escape"),
    (
        "З військового госпіталю в Дніпрі зник поранений боєць, правоохоронці шукають його.",
        "escape",
    ),
    ("Бійці роти відмовилися йти в наступ, посилаючись на відсутність підготовки.", "mutiny"),
    ("Командира звинуватили в тому, що підрозділ відмовився виконати бойовий наказ.", "mutiny"),
    ("У навчальному центрі сержант знущався з новобранців, ДБР відкрило провадження.", "hazing"),
    ("ДБР затримало військового, який продавав пальне з бригади.", "crime"),
    ("Військовослужбовець застрелив товариша по службі під час сварки на Харківщині.", "crime"),
    ("Офіцер ТЦК вимагав хабар за зняття з розшуку.", "crime"),
    ("Більша частина України завтра буде без опадів.", None),
    ("Футболіст збірної втік з тренувального табору через конфлікт з тренером.", None),
    ("ТЦК проводять рейди на блокпостах у Львові, перевіряють документи.", None),
    ("Військові отримали нові пікапи від волонтерів.", None),
    ("Засуджений втік з колонії на Житомирщині, триває розшук.", None),
    ("Генштаб: за добу відбито 40 атак, ворог втратив 1200 солдатів.", None),
    ("Шахтарі відмовилися спускатися під землю через небезпеку.", None),
    ("Частина депутатів відмовилася голосувати за бюджет.", None),
    ("Діти-відмовники з будинку малюти знайшли нові сім'ї.", None),
    ("Повернувшись з відпустки, військовий вручив нагороди побратимам.", None),
    # Indirect tellings and hard negatives from fresh invented held-out posts.
    (
        "Боєць три місяці не з'являвся у підрозділі, переховувався в селі у тещі. ДБР повідомило йому про підозру.",
        "awol",
    ),
    (
        "ДБР: командир взводу кинув позиції разом із трьома підлеглими та виїхав до Києва.",
        "desertion",
    ),
    (
        "ДПСУ затримали військовослужбовця ЗСУ, який намагався виїхати до Молдови в багажнику авто.",
        "desertion",
    ),
    ("Поранений військовий самовільно покинув шпиталь у Львові, не дочекавшись виписки.", "escape"),
    (
        "Військовослужбовець у стані алкогольного сп'яніння на службовому авто скоїв смертельну ДТП.",
        "crime",
    ),
    (
        "Юристи пояснили, як застосовується ст. 406 Цивільного кодексу України щодо сервітутів.",
        None,
    ),
    ("Ухилянт намагався перепливти Тису, його затримали прикордонники.", None),
    (
        "На Одещині чоловік утік від працівників ТЦК під час перевірки документів на блокпосту.",
        None,
    ),
    ("ЗСУ відійшли з позицій біля Вугледара, щоб зберегти особовий склад.", None),
    ("Військовий утік з полону і дістався своїх — розповідь захисника.", None),
    ("Росія оголосила в розшук українського військового експерта.", None),
    ("Нардепка назвала депутатів, які зірвали засідання, дезертирами.", None),
    ("Солдата засудили до 8 років за вбивство знайомого під час застілля.", "crime"),
    ("Нетверезий військовий на авто влетів у паркан школи.", "crime"),
    ("Новобранці збунтувалися в навчальному центрі через відсутність опалення.", "mutiny"),
    ("Командир відділення вдарив підлеглого кулаком — ДБР відкрило провадження.", "hazing"),
    ("Комбат привласнював грошове забезпечення бійців, повідомили в ДБР.", "crime"),
    ("Військовослужбовець у нетверезому стані влетів на службовому авто в зупинку.", "crime"),
    ("Окупант здався в полон дрону під Куп'янськом — відео бригади.", "desertion"),
    ("ТЦК оголосили в розшук тисячі порушників військового обліку.", None),
    ("Ворожий дрон вдарив по позиції, побратими загиблого поранені.", None),
    ("Сержанта засудили: він ухилявся від несення служби, симулюючи травму спини.", "awol"),
    ("Контрактник, який приїхав додому у відпустку, зарізав сусіда під час сварки.", "crime"),
    ("Суд: 6 років за залишення бойових позицій під Часовим Яром.", "desertion"),
    (
        "Десятки бійців залишили розташування бригади на знак протесту, командира відсторонено.",
        "awol",
    ),
    ("Начальник служби тилу брав з бійців по 500 доларів за переведення в тил.", "crime"),
    ("Голкіпер не повернувся з відпустки до клубу вчасно і заплатить штраф.", None),
    ("Чоловіка, який ухилявся від військової служби під час мобілізації, засудили умовно.", None),
    ("Бригада залишила розташування на навчаннях і висунулася на полігон.", None),
    ("Російський військовий розстріляв полонених на Запоріжжі — ОГП.", None),
    (
        "Троє мобілізованих вистрибнули з потяга, який віз їх до навчального центру. Їх розшукують.",
        "escape",
    ),
    ("Військовий загинув, потрапивши під потяг у Львові.", None),
    ("Командир роти садив бійців у яму за пиятику, розповіли побратими.", "hazing"),
    ("Ще двоє окупантів скористалися проєктом «Хочу жити» і вийшли до позицій ЗСУ.", "desertion"),
    ("Поліція затримала двох сзчників, які переховувалися у лісі на Житомирщині.", "awol"),
    (
        "На Одещині прикордонники затримали військового, який пішов пішки до Молдови з підробленими документами.",
        "desertion",
    ),
    (
        "У солдата, затриманого біля кордону з Румунією, знайшли фіктивний наказ про звільнення зі служби.",
        "desertion",
    ),
    (
        "Прикордонники затримали чоловіка призовного віку, який намагався перетнути кордон з підробленою довідкою.",
        None,
    ),
    (
        "Мобілізовані побилися з командирами, коли їх намагалися відправити на нуль без підготовки.",
        "mutiny",
    ),
    ("Військовий викрав БТР з частини і поїхав до сусіднього села.", "crime"),
    (
        "Солдат мав повернутися до частини після лікування, але поїхав додому і прожив там пів року.",
        "awol",
    ),
    ("Писар бригади продавав побратимам фіктивні довідки про поранення, повідомило ДБР.", "crime"),
    ("Працівник ТЦК продавав ухилянтам довідки про відстрочку.", None),
    ("Військовослужбовці батальйону оголосили страйк і вимагають ротації.", "mutiny"),
    ("Затриманий за СЗЧ військовий вибив двері кімнати для затриманих і втік.", "escape"),
    ("Український військовий вибив двері підвалу і втік з полону.", None),
    ("Захисник утік з російського полону і за місяць повернувся до своєї бригади.", None),
    ("Сержант поліції втік з місця ДТП, його відсторонили.", None),
    ("Історик розповів про дезертирство в армії Директорії 1919 року.", None),
    ("Боєць запізнився з відпустки на 20 днів — справу передали до суду.", "awol"),
    (
        "Військовий зняв з картки загиблого побратима всі виплати, ДБР повідомило про підозру.",
        "crime",
    ),
    ("Шахраї вкрали гроші у побратимів загиблого, видаючи себе за волонтерів.", None),
    (
        "З потяга Львів — Київ на ходу зістрибнули троє мобілізованих, яких везли до навчального центру. Їх шукають.",
        "escape",
    ),
    (
        "Поранений боєць пішов з обласного госпіталю у Дніпрі й не повернувся до частини, його шукає ВСП.",
        "escape",
    ),
    ("Командир прив'язав підлеглого до дерева за запізнення — ДБР відкрило провадження.", "hazing"),
    ("Військовий продавав старлінки, передані волонтерами його бригаді, — ДБР.", "crime"),
    ("Волонтери продали авто, щоб купити дрони для бійців.", None),
    (
        "Звернення бійців бригади: «Ми відмовляємося виконувати злочинні накази командира».",
        "mutiny",
    ),
    (
        "Двоє російських військових самі вийшли до позицій ЗСУ, попередньо зв'язавшись із проєктом «Хочу жити».",
        "desertion",
    ),
    ("Російські окупанти вийшли до наших позицій і були знищені.", None),
    ("Строковиків у частині змушували проходити «прописку» — двоє в лікарні.", "hazing"),
]

EN = [
    ("A sailor missing from his unit since May was detained by military police in Crimea.", "awol"),
    (
        "A Russian sailor who went missing from his ship in Sevastopol was found hiding at his parents' house, military prosecutors said.",
        "awol",
    ),
    (
        "More than 50 soldiers left their base without authorization last month, according to leaked documents.",
        "awol",
    ),
    (
        "Ukraine offers amnesty to troops who went absent without leave if they return to duty.",
        "awol",
    ),
    (
        "A conscript who deserted in 2022 was extradited from Georgia and now faces trial.",
        "desertion",
    ),
    (
        "Russian soldiers are fleeing the army in growing numbers, hiding in forests and abroad.",
        "desertion",
    ),
    (
        "Ten mobilised men escaped from a recruitment centre in Odesa overnight by climbing a fence.",
        "escape",
    ),
    (
        "An entire company refused orders to advance, saying commanders were sending them to certain death.",
        "mutiny",
    ),
    ("Soldiers staged a mutiny at a base in Siberia over unpaid wages.", "mutiny"),
    (
        "Two sergeants were charged after a conscript was beaten and humiliated in his barracks.",
        "hazing",
    ),
    ("A serviceman was arrested for selling stolen army rifles online.", "crime"),
    (
        "A Russian soldier accused of murdering a family in Kherson region was sentenced in absentia.",
        "crime",
    ),
    ("Tourists flock to the deserted beaches of Albania in early spring.", None),
    ("Player refused to take the penalty after a row with the coach.", None),
    ("Military parade rehearsals close roads in central Moscow this week.", None),
    ("Prisoners escaped from a jail in Louisiana after overpowering a guard.", None),
    ("Soldiers helped rescue families trapped by floods in the region.", None),
    ("Russian forces captured another village near Pokrovsk, the ministry said.", None),
    ("The senator called the defectors from his party 'political deserters'.", None),
    ("Recruitment drive: the army hopes to sign up 20,000 contract soldiers by autumn.", None),
    ("Investors revolt against bank's merger plan.", None),
    ("A dog escaped from a military base and was found in a nearby village.", None),
    # Indirect tellings and hard negatives from fresh invented held-out posts.
    (
        "Two conscripts walked out of their unit near Pskov without permission and were picked up days later.",
        "awol",
    ),
    (
        "A Russian private who overstayed his leave by five months was detained at his mother's flat.",
        "awol",
    ),
    (
        "Russian servicemen fleeing the war are hiding in Kazakhstan, where several have been detained at Moscow's request.",
        "desertion",
    ),
    (
        "Footage shows men climbing over the fence of a draft office as officers shout after them.",
        "escape",
    ),
    (
        "About 20 soldiers held in a basement for refusing to fight escaped and reached their families.",
        "escape",
    ),
    ("Reports of hazing in the Russian army have risen, a rights group says.", "hazing"),
    ("A drunk soldier crashed an armored vehicle into a bus stop, injuring three people.", "crime"),
    ("A soldier was injured in a car crash caused by a drunk driver.", None),
    ("A police officer was charged with taking bribes from drivers.", None),
    ("Draft dodgers caught trying to swim the Tisza river, border guards say.", None),
    ("Hazing scandal at a university rowing club leads to suspensions.", None),
    ("Russian forces withdrew from positions near Kherson, the Pentagon said.", None),
    ("A soldier's cat went missing from the base and turned up a week later.", None),
    ("The singer went AWOL from Instagram for months before the album.", None),
    ("A new documentary about the Wagner mutiny premieres on YouTube.", None),
    ("The president refused to order troops out of the city.", None),
    ("A former soldier was jailed for murdering his neighbour.", None),
    ("A soldier on leave stabbed a man outside a bar; he has been detained.", "crime"),
    ("Officials at a Lviv recruitment office were detained for taking bribes.", "crime"),
    ("Mobilised soldiers refused to obey their commanders until unpaid wages were paid.", "mutiny"),
    ("A naval crew mutinied after being ordered to sea without air cover.", "mutiny"),
    ("An officer was filmed humiliating his own men, forcing them to kneel in snow.", "hazing"),
    ("A private absconded from a military hospital in Samara and is being searched for.", "escape"),
    ("Drunk off-duty sergeant rams a bus stop with an army truck, injuring two.", "crime"),
    ("A lieutenant has been jailed for selling army diesel to local farmers.", "crime"),
    (
        "A Russian infantryman surrendered to a Ukrainian drone near Kupiansk, the brigade says.",
        "desertion",
    ),
    ("An officer extorted cash from his soldiers in exchange for leave, prosecutors say.", "crime"),
    ("The singer's drummer went AWOL on the eve of the tour.", None),
    ("Russian troops abandoned positions near Kupiansk as Ukrainian units advanced.", None),
    ("Hundreds of troops surrendered as drones pounded their supply lines, the army says.", None),
    (
        "A contract soldier opened fire on his platoon commander after a row over leave, then ran.",
        "crime",
    ),
    (
        "Fragging cases in the Russian army are rising, says a report by an independent outlet.",
        "crime",
    ),
    (
        "Thousands of soldiers have walked away from their units since the spring offensive.",
        "desertion",
    ),
    ("An army lieutenant was detained for extorting money from his men for leave passes.", "crime"),
    ("A soldier was shot dead at a checkpoint near Kherson, the regional governor said.", None),
    ("Midfielder failed to return from leave on time and was fined by the club.", None),
    ("Fragging is a cheap tactic in this online shooter game, players complain.", None),
    (
        "Two mobilised men jumped from a troop train near Samara and are being hunted by military police.",
        "escape",
    ),
    (
        "A dozen recruits slipped off a train carrying them to their unit in Siberia, local media said.",
        "escape",
    ),
    ("A soldier was killed after jumping from a moving train near Kyiv, police said.", None),
    ("Soldiers got off the train in Kyiv and were greeted by their families.", None),
    (
        "A company commander kept soldiers in a pit for days as punishment for drinking, relatives say.",
        "hazing",
    ),
    ("Russian forces kept Ukrainian prisoners in a pit, the freed soldiers said.", None),
    (
        "A Russian paratrooper who never came back from leave was found living with his girlfriend in Tver.",
        "awol",
    ),
    ("He never came back from leave in Spain, his colleagues at the bank said.", None),
    (
        "Another Russian serviceman used the I Want to Live project and crossed to Ukrainian positions with his weapon.",
        "desertion",
    ),
    ('"I want to live in Paris," the actress told reporters at the film festival.', None),
    (
        "A battalion commander pocketed the combat pay of dead soldiers for a year, prosecutors say.",
        "crime",
    ),
    ("The hospital director embezzled staff wages, prosecutors say.", None),
    (
        "Border guards stopped a serviceman carrying forged discharge papers near the Hungarian border.",
        "desertion",
    ),
    (
        "Conscripts brawled with officers who tried to send them to the front, a video shows.",
        "mutiny",
    ),
    ("Officers fought to save the lives of conscripts injured in the blast.", None),
    ("A drunk conscript stole an APC from his base and drove it into a shop window.", "crime"),
    ("Ukrainian soldiers captured a Russian tank and drove it back as a trophy.", None),
    (
        "Courts handed down 5,000 sentences for unauthorized departure from a unit among Russian soldiers in 2024.",
        "awol",
    ),
    (
        "Instead of returning to his unit after hospital, the soldier went home to Kostroma, where he was arrested.",
        "awol",
    ),
    (
        "A battalion clerk sold forged leave papers to soldiers who wanted to get away from the front.",
        "crime",
    ),
    (
        "An army major was arrested for selling postings to rear units to mobilised soldiers.",
        "crime",
    ),
    ("The club sold its captain in the transfer window for $40 million.", None),
    (
        "Mobilised soldiers went on strike at their base, demanding rotation after ten months at the front.",
        "mutiny",
    ),
    (
        "Wives of mobilised soldiers staged a protest outside the Defence Ministry demanding rotation.",
        None,
    ),
    (
        "A soldier arrested for desertion escaped from a military police vehicle on the way to court.",
        "escape",
    ),
    ("A murder suspect escaped from a police van in Leeds.", None),
    (
        "Two wounded soldiers walked out of a field hospital near Donetsk; military police are looking for them.",
        "escape",
    ),
    ("Historian: desertion in the Union army reached 200,000 by 1865.", None),
    ("A police sergeant was charged with assault after a bar fight.", None),
    ("Serviceman stabbed outside nightclub in Odesa; two men detained.", None),
    ("Conscript killed, two hurt in a firing-range accident, the ministry says.", None),
    ("A soldier stabbed two men outside a nightclub in Odesa and was detained.", "crime"),
    ("AWOL linebacker skips the first week of preseason practice.", None),
    ("A Ukrainian soldier escaped from Russian captivity through a basement window.", None),
    ("Two MPs went AWOL during the crucial Brexit debate.", None),
    ("Lawmakers back an AWOL amnesty for soldiers who return to their units.", "awol"),
    ("A sailor who came back three weeks late from leave was fined by a naval court.", "awol"),
    ("A soldier stole his comrade's bank card and emptied his account, prosecutors say.", "crime"),
    (
        "A Ukrainian soldier recovering from shrapnel wounds walked out of a Kyiv hospital before discharge; military police are searching.",
        "escape",
    ),
    ("The soldier left hospital after three weeks of treatment and returned to his unit.", None),
    (
        "Several mobilised men broke out of a makeshift detention centre where they were held for refusing to fight.",
        "escape",
    ),
    ("Ten men escaped from an immigration detention centre in Kent; police are searching.", None),
    (
        "An officer sold drones donated by a charity to his brigade on a marketplace, prosecutors allege.",
        "crime",
    ),
    ("A soldier's mother sold her car to buy a drone for his unit, volunteers say.", None),
    (
        "A sergeant chained a drunk private to a fence overnight in the cold; the commander is under investigation.",
        "hazing",
    ),
    ("Soldiers tied yellow ribbons to a tree to honour fallen comrades.", None),
    (
        "Riot at a Russian training centre: recruits smashed furniture and demanded to be sent home.",
        "mutiny",
    ),
    ("Historians revisit the Curragh mutiny of 1914 in a new exhibition.", None),
    ("Deserters of the Napoleonic wars: a new book on how villages hid runaway conscripts.", None),
    (
        "A Russian marine crossed the front line at night and surrendered to Ukrainian soldiers.",
        "desertion",
    ),
    ("Encircled Russian soldiers crossed the river and surrendered to Ukrainian forces.", None),
    ("A retired army sergeant was charged with fraud over a fake veterans' charity.", None),
    (
        "A Ukrainian marine was due back at his brigade after leave but stayed with his family in Odesa for five months.",
        "awol",
    ),
    (
        "A soldier on leave was arrested for a stabbing in a bar; he was due to return to his unit the next day.",
        "crime",
    ),
]


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    """The default pack, loaded once for the module."""
    return load_ruleset()


def _ids(table: list[tuple[str, str | None]]) -> list[str]:
    """Short ASCII ids: the category (or 'neg') and the row number."""
    return [f"{category or 'neg'}-{number:02d}" for number, (_, category) in enumerate(table)]


def check(pack: RuleSet, text: str, category: str | None) -> None:
    """Assert the pack flags ``text`` with ``category``, or not at all."""
    matches = pack.evaluate(text)
    if category is None:
        assert not matches, [match.rule_id for match in matches]
    else:
        assert matches, "not flagged"
        assert matches[0].category == category, [(m.rule_id, m.category) for m in matches]


@pytest.mark.parametrize(("text", "category"), RU, ids=_ids(RU))
def test_russian(pack: RuleSet, text: str, category: str | None) -> None:
    """Russian stories are flagged with their category; look-alikes are not."""
    check(pack, text, category)


@pytest.mark.parametrize(("text", "category"), UK, ids=_ids(UK))
def test_ukrainian(pack: RuleSet, text: str, category: str | None) -> None:
    """Ukrainian stories are flagged with their category; look-alikes are not."""
    check(pack, text, category)


@pytest.mark.parametrize(("text", "category"), EN, ids=_ids(EN))
def test_english(pack: RuleSet, text: str, category: str | None) -> None:
    """English stories are flagged with their category; look-alikes are not."""
    check(pack, text, category)
