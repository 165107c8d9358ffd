"""The demo company's fixed data: organisation, accounts, reference data, geography and the
word lists company and person names are built from. Plain tables, kept one entry per line
or row where that reads best."""

from __future__ import annotations

from dataclasses import dataclass

# The one password of every demo account (min. 10 characters, upper, lower, digit, symbol).
DEMO_PASSWORD = "Guanxi-Demo-2026"
DEFAULT_SEED = 2026
DEFAULT_CUSTOMERS = 2000
BATCH_SIZE = 2000


# --- the organisation -------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoDepartment:
    name: str
    kind: str
    parent: str | None
    code: str


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    roles: tuple[str, ...]
    department: str
    title: str
    superuser: bool = False


# fmt: off
DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment("总部", "company", None, "HQ"),
    DemoDepartment("华北大区", "region", "总部", "HB"),
    DemoDepartment("北京分公司", "branch", "华北大区", "HB-BJ"),
    DemoDepartment("天津办事处", "branch", "华北大区", "HB-TJ"),
    DemoDepartment("华东大区", "region", "总部", "HD"),
    DemoDepartment("上海分公司", "branch", "华东大区", "HD-SH"),
    DemoDepartment("杭州办事处", "branch", "华东大区", "HD-HZ"),
    DemoDepartment("华南大区", "region", "总部", "HN"),
    DemoDepartment("广州分公司", "branch", "华南大区", "HN-GZ"),
    DemoDepartment("深圳办事处", "branch", "华南大区", "HN-SZ"),
    DemoDepartment("西南大区", "region", "总部", "XN"),
    DemoDepartment("成都分公司", "branch", "西南大区", "XN-CD"),
    DemoDepartment("财务部", "department", "总部", "CW"),
    DemoDepartment("客服中心", "department", "总部", "KF"),
    DemoDepartment("法务部", "department", "总部", "FW"),
    DemoDepartment("档案室", "department", "总部", "DA"),
    DemoDepartment("信息中心", "department", "总部", "XX"),
)

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "吴建国", ("administrator",), "信息中心", "信息中心主任", superuser=True),
    DemoUser("zhaoguohua", "赵国华", ("general_manager",), "总部", "总经理"),
    DemoUser("chenjing", "陈静", ("sales_director",), "总部", "销售总监"),
    DemoUser("liuyang", "刘洋", ("supervisor",), "华北大区", "华北区域经理"),
    DemoUser("huanglei", "黄磊", ("supervisor",), "华东大区", "华东区域经理"),
    DemoUser("lintao", "林涛", ("supervisor",), "华南大区", "华南区域经理"),
    DemoUser("yangyong", "杨勇", ("supervisor",), "西南大区", "西南区域经理"),
    DemoUser("zhangwei", "张伟", ("salesperson",), "北京分公司", "销售经理"),
    DemoUser("wangqiang", "王强", ("salesperson",), "北京分公司", "业务员"),
    DemoUser("lina", "李娜", ("salesperson",), "天津办事处", "业务员"),
    DemoUser("wangfang", "王芳", ("salesperson",), "上海分公司", "销售经理"),
    DemoUser("xujie", "徐杰", ("salesperson",), "上海分公司", "业务员"),
    DemoUser("shenjia", "沈佳", ("salesperson",), "杭州办事处", "业务员"),
    DemoUser("liangchao", "梁超", ("salesperson",), "广州分公司", "销售经理"),
    DemoUser("luomin", "罗敏", ("salesperson",), "广州分公司", "业务员"),
    DemoUser("guopeng", "郭鹏", ("salesperson",), "深圳办事处", "业务员"),
    DemoUser("tanghao", "唐浩", ("salesperson",), "成都分公司", "销售经理"),
    DemoUser("pengli", "彭丽", ("salesperson",), "成都分公司", "业务员"),
    DemoUser("qianli", "钱丽", ("finance",), "财务部", "财务经理"),
    DemoUser("zhengmin", "郑敏", ("finance",), "财务部", "会计"),
    DemoUser("sunyue", "孙悦", ("customer_service",), "客服中心", "客服主管"),
    DemoUser("heting", "何婷", ("customer_service",), "客服中心", "客服专员"),
    DemoUser("zhouming", "周明", ("legal",), "法务部", "法务经理"),
    DemoUser("wufang", "吴芳", ("archive_keeper",), "档案室", "档案管理员"),
)
# fmt: on


# --- reference data ---------------------------------------------------------------------------
REGIONS: tuple[tuple[str, str], ...] = (
    ("华北", "north"),
    ("华东", "east"),
    ("华南", "south"),
    ("西南", "southwest"),
    ("华中", "central"),
    ("西北", "northwest"),
    ("东北", "northeast"),
)

TAGS: tuple[tuple[str, str], ...] = (
    ("重点客户", "#dc3545"),
    ("战略合作", "#6f42c1"),
    ("国企", "#b02a37"),
    ("民营", "#20c997"),
    ("外资", "#0dcaf0"),
    ("上市公司", "#fd7e14"),
    ("招投标", "#0d6efd"),
    ("老客户", "#6c757d"),
    ("新开发", "#198754"),
    ("跨区域", "#ffc107"),
    ("回款风险", "#343a40"),
)


@dataclass(frozen=True)
class DemoIndustry:
    name: str
    weight: int
    words: tuple[tuple[str, str], ...]  # (word in the company name, pinyin abbreviation)
    types: dict[str, int]  # customer type code -> weight
    scope: tuple[str, ...]  # business scope items


# fmt: off
COMMON_SCOPE = ("技术服务、技术开发、技术咨询", "劳务服务（不含劳务派遣）", "货物进出口", "机械设备租赁")

INDUSTRIES: tuple[DemoIndustry, ...] = (
    DemoIndustry("建筑工程", 14, (("建设工程", "js"), ("建筑工程", "jz"), ("建设", "js"), ("建工", "jg")),
                 {"construction": 9, "engineering_retail": 1},
                 ("房屋建筑工程施工总承包", "建设工程施工", "土石方工程施工", "建筑劳务分包", "工程管理服务")),
    DemoIndustry("建材贸易", 12, (("建材", "jc"), ("建材贸易", "jcmy"), ("建筑材料", "jzcl"), ("商贸", "sm")),
                 {"trading": 8, "operation_center": 2},
                 ("建筑材料销售", "五金产品批发", "水泥制品销售", "金属材料销售", "建筑装饰材料销售", "电线电缆销售")),
    DemoIndustry("房地产开发", 6, (("置业", "zy"), ("房地产开发", "fdc"), ("地产", "dc")),
                 {"construction": 5, "engineering_retail": 3},
                 ("房地产开发经营", "物业管理", "房地产经纪", "住房租赁")),
    DemoIndustry("市政工程", 6, (("市政工程", "szgc"), ("市政建设", "szjs")),
                 {"construction": 1},
                 ("市政设施管理", "市政公用工程施工", "城市道路照明工程施工", "土石方工程施工")),
    DemoIndustry("装饰装修", 10, (("装饰工程", "zs"), ("装饰设计工程", "zssj"), ("建筑装饰", "jzzs")),
                 {"construction": 7, "engineering_retail": 3},
                 ("住宅室内装饰装修", "建筑装饰装修工程施工", "家具安装和维修服务", "建筑装饰材料销售")),
    DemoIndustry("机电安装", 6, (("机电安装工程", "jdaz"), ("机电设备安装", "jdsb")),
                 {"construction": 1},
                 ("机电设备安装工程", "电气安装服务", "普通机械设备安装服务", "通用设备修理")),
    DemoIndustry("钢结构", 4, (("钢结构工程", "ggj"), ("钢构", "gg")),
                 {"construction": 1},
                 ("钢结构工程施工", "金属结构制造", "金属结构销售", "建筑用钢筋产品销售")),
    DemoIndustry("水利工程", 3, (("水利水电工程", "slsd"), ("水利建设", "sljs")),
                 {"construction": 1},
                 ("水利水电工程施工", "河湖整治工程施工", "水资源管理", "防洪除涝设施管理")),
    DemoIndustry("园林绿化", 4, (("园林绿化工程", "yllh"), ("园林景观工程", "yljg")),
                 {"construction": 1},
                 ("园林绿化工程施工", "城市绿化管理", "花卉种植", "园艺产品销售")),
    DemoIndustry("路桥施工", 3, (("路桥工程", "lq"), ("路桥建设", "lqjs")),
                 {"construction": 1},
                 ("公路工程施工", "桥梁工程施工", "隧道施工", "交通安全设施工程施工")),
    DemoIndustry("电力工程", 3, (("电力工程", "dlgc"), ("电力建设", "dljs")),
                 {"construction": 1},
                 ("输电、供电、受电电力设施的安装、维修和试验", "配电开关控制设备销售", "太阳能发电技术服务")),
    DemoIndustry("消防工程", 3, (("消防工程", "xf"), ("消防科技", "xfkj")),
                 {"construction": 1},
                 ("消防设施工程施工", "消防技术服务", "消防器材销售", "安防设备销售")),
    DemoIndustry("幕墙门窗", 3, (("幕墙工程", "mq"), ("门窗幕墙", "mcmq")),
                 {"construction": 1},
                 ("建筑幕墙工程施工", "门窗制造加工", "门窗销售", "建筑用金属配件销售")),
    DemoIndustry("暖通空调", 3, (("暖通工程", "nt"), ("空调设备", "kt")),
                 {"construction": 1, "trading": 1},
                 ("供暖服务", "制冷、空调设备销售", "通风设备安装", "家用电器安装服务")),
    DemoIndustry("智能化工程", 3, (("智能科技", "znkj"), ("智能化工程", "zngc")),
                 {"construction": 1},
                 ("建筑智能化工程施工", "安全技术防范系统设计施工服务", "信息系统集成服务", "物联网技术服务")),
    DemoIndustry("给排水", 2, (("给排水设备", "gps"), ("管道工程", "gd")),
                 {"construction": 1, "trading": 1},
                 ("管道和设备安装", "泵及真空设备销售", "阀门和旋塞销售", "塑料制品销售")),
    DemoIndustry("物业管理", 3, (("物业管理", "wygl"), ("物业服务", "wyfw")),
                 {"engineering_retail": 1},
                 ("物业管理", "停车场服务", "专业保洁、清洗、消毒服务", "园区管理服务")),
    DemoIndustry("商业零售", 4, (("商业管理", "sygl"), ("百货", "bh")),
                 {"engineering_retail": 1, "trading": 1},
                 ("日用百货销售", "商业综合体管理服务", "五金产品零售", "家居用品销售")),
    DemoIndustry("酒店餐饮", 2, (("酒店管理", "jdgl"), ("餐饮管理", "cygl")),
                 {"engineering_retail": 1},
                 ("酒店管理", "餐饮管理", "会议及展览服务", "住宿服务")),
    DemoIndustry("工业制造", 3, (("实业", "sy"), ("机械制造", "jxzz")),
                 {"engineering_retail": 1, "trading": 1},
                 ("通用设备制造", "机械零件、零部件加工", "金属制品销售", "工业自动控制系统装置销售")),
    DemoIndustry("物流仓储", 2, (("物流", "wl"), ("供应链管理", "gyl")),
                 {"trading": 1},
                 ("普通货物仓储服务", "道路货物运输", "供应链管理服务", "装卸搬运")),
    DemoIndustry("设计咨询", 2, (("工程咨询", "gczx"), ("建筑设计", "jzsj")),
                 {"construction": 1},
                 ("工程造价咨询业务", "建设工程设计", "工程管理服务", "规划设计管理")),
)
# fmt: on


# --- geography --------------------------------------------------------------------------------
@dataclass(frozen=True)
class City:
    name: str
    abbr: str  # pinyin initials, for e-mail domains
    region: str  # Region.code
    code: str  # first four digits of the administrative division code
    postcode: str  # first three digits
    area_code: str
    districts: tuple[tuple[str, str], ...]  # (name, last two digits of the division code)


# fmt: off
CITIES: dict[str, City] = {c.name: c for c in (
    City("北京", "bj", "north", "1101", "100", "010", (("东城区", "01"), ("西城区", "02"), ("朝阳区", "05"), ("丰台区", "06"), ("海淀区", "08"), ("通州区", "12"), ("顺义区", "13"), ("昌平区", "14"), ("大兴区", "15"))),
    City("天津", "tj", "north", "1201", "300", "022", (("和平区", "01"), ("河东区", "02"), ("河西区", "03"), ("南开区", "04"), ("东丽区", "10"), ("西青区", "11"), ("滨海新区", "16"))),
    City("石家庄", "sjz", "north", "1301", "050", "0311", (("长安区", "02"), ("桥西区", "04"), ("新华区", "05"), ("裕华区", "08"))),
    City("上海", "sh", "east", "3101", "200", "021", (("黄浦区", "01"), ("徐汇区", "04"), ("长宁区", "05"), ("静安区", "06"), ("普陀区", "07"), ("杨浦区", "10"), ("闵行区", "12"), ("宝山区", "13"), ("嘉定区", "14"), ("浦东新区", "15"), ("松江区", "17"))),
    City("南京", "nj", "east", "3201", "210", "025", (("玄武区", "02"), ("秦淮区", "04"), ("建邺区", "05"), ("鼓楼区", "06"), ("栖霞区", "13"), ("江宁区", "15"))),
    City("苏州", "suz", "east", "3205", "215", "0512", (("虎丘区", "05"), ("吴中区", "06"), ("相城区", "07"), ("姑苏区", "08"), ("吴江区", "09"))),
    City("杭州", "hz", "east", "3301", "310", "0571", (("上城区", "02"), ("拱墅区", "05"), ("西湖区", "06"), ("滨江区", "08"), ("萧山区", "09"), ("余杭区", "10"))),
    City("宁波", "nb", "east", "3302", "315", "0574", (("海曙区", "03"), ("江北区", "05"), ("北仑区", "06"), ("镇海区", "11"), ("鄞州区", "12"))),
    City("广州", "gz", "south", "4401", "510", "020", (("荔湾区", "03"), ("越秀区", "04"), ("海珠区", "05"), ("天河区", "06"), ("白云区", "11"), ("黄埔区", "12"), ("番禺区", "13"), ("花都区", "14"))),
    City("深圳", "sz", "south", "4403", "518", "0755", (("罗湖区", "03"), ("福田区", "04"), ("南山区", "05"), ("宝安区", "06"), ("龙岗区", "07"), ("龙华区", "09"))),
    City("佛山", "fs", "south", "4406", "528", "0757", (("禅城区", "04"), ("南海区", "05"), ("顺德区", "06"))),
    City("东莞", "dg", "south", "4419", "523", "0769", (("东城街道", "00"), ("南城街道", "00"), ("长安镇", "00"), ("虎门镇", "00"))),
    City("成都", "cd", "southwest", "5101", "610", "028", (("锦江区", "04"), ("青羊区", "05"), ("金牛区", "06"), ("武侯区", "07"), ("成华区", "08"), ("龙泉驿区", "12"), ("双流区", "16"))),
    City("重庆", "cq", "southwest", "5001", "400", "023", (("渝中区", "03"), ("江北区", "05"), ("沙坪坝区", "06"), ("九龙坡区", "07"), ("南岸区", "08"), ("渝北区", "12"))),
    City("昆明", "km", "southwest", "5301", "650", "0871", (("五华区", "02"), ("盘龙区", "03"), ("官渡区", "11"), ("西山区", "12"))),
    City("武汉", "wh", "central", "4201", "430", "027", (("江岸区", "02"), ("江汉区", "03"), ("硚口区", "04"), ("汉阳区", "05"), ("武昌区", "06"), ("洪山区", "11"))),
    City("长沙", "cs", "central", "4301", "410", "0731", (("芙蓉区", "02"), ("天心区", "03"), ("岳麓区", "04"), ("开福区", "05"), ("雨花区", "11"))),
    City("郑州", "zz", "central", "4101", "450", "0371", (("中原区", "02"), ("二七区", "03"), ("金水区", "05"))),
    City("西安", "xa", "northwest", "6101", "710", "029", (("新城区", "02"), ("碑林区", "03"), ("莲湖区", "04"), ("未央区", "12"), ("雁塔区", "13"))),
    City("兰州", "lz", "northwest", "6201", "730", "0931", (("城关区", "02"), ("七里河区", "03"), ("安宁区", "05"))),
    City("沈阳", "sy", "northeast", "2101", "110", "024", (("和平区", "02"), ("沈河区", "03"), ("大东区", "04"), ("皇姑区", "05"), ("铁西区", "06"), ("浑南区", "12"))),
    City("大连", "dl", "northeast", "2102", "116", "0411", (("中山区", "02"), ("西岗区", "03"), ("沙河口区", "04"), ("甘井子区", "11"))),
    City("长春", "cc", "northeast", "2201", "130", "0431", (("南关区", "02"), ("宽城区", "03"), ("朝阳区", "04"), ("二道区", "05"))),
    City("哈尔滨", "hrb", "northeast", "2301", "150", "0451", (("道里区", "02"), ("南岗区", "03"), ("道外区", "04"), ("香坊区", "10"))),
)}

# Each branch: (share of the customers, its territory as (city, weight)). Regions without a
# branch (华中, 西北, 东北) are served by a nearby one, as Chinese sales organisations do.
BRANCHES: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "北京分公司": (18, (("北京", 70), ("石家庄", 8), ("郑州", 4), ("沈阳", 6), ("大连", 4), ("长春", 3), ("哈尔滨", 5))),
    "天津办事处": (8, (("天津", 85), ("石家庄", 5), ("沈阳", 5), ("大连", 5))),
    "上海分公司": (20, (("上海", 70), ("苏州", 12), ("南京", 10), ("武汉", 8))),
    "杭州办事处": (10, (("杭州", 75), ("宁波", 25))),
    "广州分公司": (16, (("广州", 70), ("佛山", 15), ("长沙", 15))),
    "深圳办事处": (12, (("深圳", 80), ("东莞", 20))),
    "成都分公司": (16, (("成都", 60), ("重庆", 20), ("昆明", 8), ("西安", 8), ("兰州", 4))),
}

ROADS = (
    "人民路", "解放路", "中山路", "建设路", "长江路", "黄河路", "新华路", "和平路", "光明路", "胜利路",
    "文化路", "东风路", "工业大道", "科技路", "创业路", "世纪大道", "滨江路", "环城北路", "朝阳路", "学府路",
    "商务大道", "迎宾大道", "高新大道", "青年路", "振兴路", "发展大道", "金桥路", "兴业路", "开元路", "华夏路",
)
BUILDING_WORDS = ("大厦", "国际中心", "商务中心", "广场", "科技园", "产业园")


# --- names ------------------------------------------------------------------------------------
# Brand characters of company names, with pinyin for e-mail domains.
BRAND_CHARS: dict[str, str] = {
    "华": "hua", "建": "jian", "东": "dong", "方": "fang", "宏": "hong", "远": "yuan", "达": "da", "恒": "heng",
    "盛": "sheng", "鑫": "xin", "泰": "tai", "嘉": "jia", "金": "jin", "海": "hai", "润": "run", "安": "an",
    "信": "xin", "诚": "cheng", "德": "de", "瑞": "rui", "祥": "xiang", "隆": "long", "兴": "xing", "昌": "chang",
    "鼎": "ding", "博": "bo", "创": "chuang", "宇": "yu", "通": "tong", "天": "tian", "正": "zheng", "和": "he",
    "永": "yong", "新": "xin", "科": "ke", "联": "lian", "合": "he", "亿": "yi", "丰": "feng", "源": "yuan",
    "晟": "sheng", "凯": "kai", "峰": "feng", "明": "ming", "耀": "yao", "中": "zhong", "广": "guang", "宝": "bao",
    "富": "fu", "利": "li", "汇": "hui", "邦": "bang", "腾": "teng", "飞": "fei", "龙": "long", "辉": "hui",
    "豪": "hao", "锦": "jin", "城": "cheng", "世": "shi", "力": "li", "奥": "ao", "万": "wan", "佳": "jia",
    "立": "li", "荣": "rong", "顺": "shun", "星": "xing", "君": "jun", "庆": "qing", "光": "guang", "辰": "chen",
    "卓": "zhuo", "越": "yue", "聚": "ju", "宸": "chen", "舜": "shun", "坤": "kun",
}
# Two-character brands that would read as a real, well-known enterprise.
RESERVED_BRANDS = {"中建", "中铁", "中交", "华为", "万科", "恒大", "保利", "华润", "中海", "中天", "华夏", "金地", "龙城"}

LEGAL_FORMS = (("有限公司", 55), ("有限责任公司", 20), ("股份有限公司", 10), ("集团有限公司", 8), ("集团股份有限公司", 2))

SURNAMES: dict[str, str] = {
    "王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang", "赵": "zhao",
    "吴": "wu", "周": "zhou", "徐": "xu", "孙": "sun", "马": "ma", "朱": "zhu", "胡": "hu", "郭": "guo",
    "何": "he", "高": "gao", "林": "lin", "罗": "luo", "郑": "zheng", "梁": "liang", "谢": "xie", "宋": "song",
    "唐": "tang", "许": "xu", "韩": "han", "冯": "feng", "邓": "deng", "曹": "cao", "彭": "peng", "曾": "zeng",
    "肖": "xiao", "田": "tian", "董": "dong", "袁": "yuan", "潘": "pan", "于": "yu", "蒋": "jiang", "蔡": "cai",
    "余": "yu", "杜": "du", "叶": "ye", "程": "cheng", "苏": "su", "魏": "wei", "吕": "lv", "丁": "ding",
    "任": "ren", "沈": "shen",
}
# Given-name characters with pinyin, by the gender they usually suggest.
GIVEN_CHARS: dict[str, dict[str, str]] = {
    "m": {
        "伟": "wei", "强": "qiang", "磊": "lei", "军": "jun", "洋": "yang", "勇": "yong", "杰": "jie", "涛": "tao",
        "明": "ming", "超": "chao", "刚": "gang", "华": "hua", "建": "jian", "国": "guo", "文": "wen", "海": "hai",
        "志": "zhi", "鹏": "peng", "宇": "yu", "浩": "hao", "凯": "kai", "俊": "jun", "博": "bo", "辉": "hui",
        "斌": "bin", "立": "li", "永": "yong", "新": "xin", "东": "dong", "成": "cheng", "宏": "hong", "振": "zhen",
        "峰": "feng", "波": "bo", "亮": "liang", "飞": "fei", "龙": "long", "德": "de", "毅": "yi", "晨": "chen",
    },
    "f": {
        "芳": "fang", "娜": "na", "敏": "min", "静": "jing", "丽": "li", "艳": "yan", "娟": "juan", "秀": "xiu",
        "霞": "xia", "平": "ping", "英": "ying", "玉": "yu", "红": "hong", "婷": "ting", "雪": "xue", "琳": "lin",
        "欣": "xin", "燕": "yan", "萍": "ping", "慧": "hui", "颖": "ying", "倩": "qian", "晓": "xiao", "春": "chun",
        "丹": "dan", "佳": "jia", "思": "si", "嘉": "jia", "晶": "jing", "梅": "mei", "莉": "li", "蕾": "lei",
        "月": "yue", "洁": "jie", "雯": "wen",
    },
}

TITLES: dict[str, str] = {  # contact title -> deal role
    "董事长": "decision_maker", "总经理": "decision_maker", "副总经理": "influencer", "采购经理": "purchaser",
    "项目经理": "technical", "财务总监": "finance", "技术负责人": "technical", "工程部经理": "technical",
    "总工程师": "technical", "材料员": "purchaser", "商务经理": "purchaser", "成本经理": "influencer",
    "办公室主任": "gatekeeper",
}
PRIMARY_TITLES = (("总经理", 30), ("采购经理", 25), ("项目经理", 20), ("副总经理", 12), ("董事长", 8), ("商务经理", 5))
HOBBIES = (
    "高尔夫", "钓鱼", "茶道", "书法", "登山", "摄影", "羽毛球", "篮球", "乒乓球", "游泳",
    "跑步", "象棋", "围棋", "品酒", "旅游", "收藏", "阅读", "骑行", "足球", "网球",
)
CONTACT_NOTES = (
    "喜欢喝普洱茶", "上午开会多，下午联系为宜", "重视售后响应速度", "关注质量胜过价格", "孩子在读高中",
    "每年春节前拜访", "不喜欢频繁电话，微信沟通", "老乡，可以聊家乡", "对账期比较敏感", "技术出身，喜欢看参数",
)
CUSTOMER_NOTES = (
    "年底集中采购，提前备货", "回款周期较长，注意控制额度", "由老客户介绍", "竞争对手正在接触，需加强走访",
    "项目多在郊县，送货需提前安排", "对价格敏感，重视单价系数", "年度框架协议客户", "需开具专用发票",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
    "158", "159", "166", "173", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191",
    "198", "199",
)
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z


# --- the shape of the customer book -------------------------------------------------------------
# Conditional weights so that the whole book is roughly A 15 % / B 35 % / C 50 % and
# green 25 / blue 30 / yellow 15 / white 25 / black 5 %.
GRADE_WEIGHTS = {"A": 15, "B": 35, "C": 50}
STATUS_BY_GRADE = {
    "A": {"green": 60, "blue": 30, "yellow": 8, "white": 0, "black": 2},
    "B": {"green": 35, "blue": 40, "yellow": 15, "white": 8, "black": 2},
    "C": {"green": 8, "blue": 25, "yellow": 17, "white": 42, "black": 8},
}
CREDIT_BY_GRADE = {
    "A": {"level1": 70, "level2": 25, "level3": 5},
    "B": {"level1": 35, "level2": 50, "level3": 15},
    "C": {"level1": 10, "level2": 45, "level3": 45},
}
VALUE_BY_GRADE = {
    "A": {"high": 80, "medium": 20, "low": 0},
    "B": {"high": 20, "medium": 60, "low": 20},
    "C": {"high": 2, "medium": 25, "low": 73},
}
SOURCE_WEIGHTS = {
    "referral": 22, "exhibition": 10, "website": 8, "cold_call": 15, "bidding": 18, "partner": 8, "visit": 15, "other": 4,
}
CONTACT_COUNT_WEIGHTS = {"1": 30, "2": 35, "3": 25, "4": 10}
# Calendar days between the first contact and filing; beyond ~7 the 5-workday deadline is missed.
FILING_LAG_WEIGHTS = {"0": 10, "1": 20, "2": 18, "3": 14, "4": 10, "5": 8, "6": 6, "8": 5, "10": 4, "14": 5}
# fmt: on
