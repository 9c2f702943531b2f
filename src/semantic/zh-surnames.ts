/**
 * Chinese surnames: the Hundred Family Surnames (百家姓, single and compound) plus the common
 * modern ones it lacks (肖, 付, 覃, 朴 …). A language table, not a list of people: any name in a
 * text starts with one of these.
 */
const BAIJIAXING =
  "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤" +
  "滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭" +
  "梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松" +
  "井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双" +
  "闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍卻璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东" +
  "欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公仉督晋楚闫法汝鄢涂钦岳帅缑亢况郈有琴商牟佘佴伯赏" +
  "墨哈谯笪年爱阳佟言福肖付覃朴";

/** Characters of the table that are far more often words of their own ("和", "有", "国", "时"): a name needs more evidence. */
const AMBIGUOUS = "乐水云花昌平和明成时元计米贝谈强路危干解应宗单包诸左吉家封曲松井富乌巴山谷车全班仰秋仲伊宫宁暴甘祖符幸司印宿怀从索咸能双党扶通边寿别充连习宦鱼容向古易慎戈终居步都满国广禄东殳沃利越隆师勾融冷那简空养须丰巢关相查后红游权盖益公督晋法涂钦帅况有琴商伯赏墨哈年爱阳言福";

export const ZH_SINGLE_SURNAMES = [...new Set(BAIJIAXING)].join("");
/** Single surnames that rarely stand for anything else at the start of a name. */
export const ZH_CLEAR_SURNAMES = [...new Set(BAIJIAXING)].filter((c) => !AMBIGUOUS.includes(c)).join("");
export const ZH_COMPOUND_SURNAMES = [
  "万俟", "司马", "上官", "欧阳", "夏侯", "诸葛", "闻人", "东方", "赫连", "皇甫", "尉迟", "公羊", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于",
  "太叔", "申屠", "公孙", "仲孙", "轩辕", "令狐", "钟离", "宇文", "长孙", "慕容", "鲜于", "闾丘", "司徒", "司空", "亓官", "司寇", "子车", "颛孙",
  "端木", "巫马", "公西", "漆雕", "乐正", "壤驷", "公良", "拓跋", "夹谷", "宰父", "谷梁", "段干", "百里", "东郭", "南门", "呼延", "羊舌", "微生",
  "梁丘", "左丘", "东门", "西门", "南宫", "第五",
];
