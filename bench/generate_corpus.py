"""Writes report-like Chinese documents with known facts, for benchmarks at any corpus size.

Each document is one city's work summary for one year (the pair is unique in the corpus), with
sections of plain report prose and a handful of figures stated in varied sentence forms. Every
figure is also written to ``facts.jsonl`` as a question with its expected answer, so accuracy
can be measured at any size. The prose reuses the same vocabulary across documents, as real
reports do, so a question can only be answered by the document of its city and year.

Usage: ``python bench/generate_corpus.py OUT_DIR --docs 2000 [--seed 7]``
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

CITIES = (
    "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 南京 无锡 徐州 常州 苏州 南通 淮安 盐城 扬州 "
    "镇江 泰州 宿迁 合肥 芜湖 蚌埠 淮南 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 六安 亳州 池州 宣城 福州 厦门"
).split()
YEARS = range(1975, 2025)
DEPARTMENTS = (
    "知识产权局 科学技术局 工业和信息化局 商务局 市场监督管理局 人力资源和社会保障局 统计局 发展和改革委员会".split()
)
# (measure, unit, low, high, decimals)
MEASURES = (
    ("专利申请量", "件", 800, 60000, 0),
    ("发明专利授权量", "件", 100, 9000, 0),
    ("商标注册申请量", "件", 500, 40000, 0),
    ("技术合同成交额", "亿元", 2, 900, 1),
    ("高新技术企业数量", "家", 50, 8000, 0),
    ("全社会研发投入", "亿元", 5, 700, 1),
    ("城镇新增就业人数", "人", 3000, 200000, 0),
    ("举办知识产权培训班", "期", 5, 300, 0),
    ("查处各类违法案件", "宗", 20, 3000, 0),
    ("外贸进出口总额", "亿美元", 10, 2000, 1),
    ("规模以上工业增加值", "亿元", 50, 9000, 1),
    ("实际利用外资", "亿美元", 1, 300, 2),
    ("新登记市场主体", "户", 2000, 150000, 0),
    ("专利资助资金", "万元", 50, 9000, 0),
    ("科技企业孵化器数量", "个", 2, 120, 0),
)
FACT_FORMS = (
    "{year}年，{city}市{measure}达到{value}，同比增长{pct}%。",
    "全年全市{measure}{value}，比上年增长{pct}%，增速位居全省前列。",
    "据统计，{year}年全市{measure}为{value}，较上年增加{delta}。",
    "{city}市全年{measure}共计{value}，完成年度目标的{target}%。",
)
QUESTION_FORMS = (
    "{year}年{city}市的{measure}是多少？",
    "{city}市{year}年{measure}有多少？",
    "{year}年{city}{measure}达到了多少？",
)
SECTIONS = ("一、主要工作情况", "二、工作中存在的问题", "三、下一步工作计划")
SUBJECTS = "我局 全市各部门 各区县 市直有关单位 相关职能部门 各级工作人员".split()
ACTIONS = "深入贯彻落实 认真组织实施 积极推进 稳步开展 不断完善 切实加强 全面落实 扎实推进".split()
OBJECTS = (
    "知识产权强市战略 科技创新发展规划 营商环境优化工作 行政执法责任制 政务公开制度 人才培养计划 "
    "企业服务体系 公共服务平台建设 标准化建设工作 信息化建设项目 专项整治行动 宣传教育活动"
).split()
RESULTS = (
    "取得了明显成效 为全市经济社会发展提供了有力支撑 得到了上级部门的充分肯定 工作水平进一步提高 "
    "服务能力显著增强 社会影响不断扩大 基础工作更加扎实 群众满意度稳步提升"
).split()
PROBLEMS = (
    "部分企业创新意识仍然不强 基层工作力量相对薄弱 资金投入渠道较为单一 服务手段有待创新 "
    "区域发展不够平衡 部门之间协调机制尚需完善"
).split()
PLANS = "进一步加大工作力度 继续完善政策体系 着力提升服务水平 加快推进重点项目 强化督促检查 加强队伍建设".split()


@dataclass(frozen=True)
class Fact:
    doc: str
    question: str
    answer: str
    value: str


def _value(rng: random.Random, low: float, high: float, decimals: int, unit: str) -> tuple[str, str]:
    number = rng.uniform(low, high)
    text = f"{number:.{decimals}f}" if decimals else f"{int(number):,}" if number >= 10000 else str(int(number))
    return f"{text}{unit}", text.replace(",", "")


def _prose(rng: random.Random, city: str, dept: str) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，{rng.choice(RESULTS)}。"
    if form == 1:
        return (
            f"{city}市{dept}围绕{rng.choice(OBJECTS)}，组织开展{rng.randint(2, 40)}次专题调研和"
            f"{rng.randint(2, 30)}场座谈活动，{rng.choice(RESULTS)}。"
        )
    if form == 2:
        return (
            f"在{rng.choice(OBJECTS)}方面，{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}各项措施，{rng.choice(RESULTS)}。"
        )
    return (
        f"同时，{rng.choice(SUBJECTS)}坚持问题导向，{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，{rng.choice(RESULTS)}。"
    )


def write_document(rng: random.Random, city: str, year: int, paragraphs: int) -> tuple[str, str, list[Fact]]:
    dept = rng.choice(DEPARTMENTS)
    title = f"{city}市{dept}{year}年工作总结"
    doc_id = f"{city}-{year}.txt"
    measures = rng.sample(MEASURES, 6)
    facts: list[Fact] = []
    lines = [title, ""]
    per_section = paragraphs // len(SECTIONS)
    fact_slots = {rng.randrange(per_section) for _ in range(len(measures) * 2)}
    for number, section in enumerate(SECTIONS):
        lines += [section, ""]
        for index in range(per_section):
            sentences = [_prose(rng, city, dept) for _ in range(rng.randint(3, 5))]
            if number == 0 and index in fact_slots and measures:
                measure, unit, low, high, decimals = measures.pop()
                value, digits = _value(rng, low, high, decimals, unit)
                form = rng.choice(FACT_FORMS)
                sentences.insert(
                    rng.randrange(len(sentences) + 1),
                    form.format(
                        year=year,
                        city=city,
                        measure=measure,
                        value=value,
                        pct=round(rng.uniform(1, 30), 1),
                        delta=_value(rng, low / 20, high / 20, decimals, unit)[0],
                        target=rng.randint(101, 140),
                    ),
                )
                question = rng.choice(QUESTION_FORMS).format(year=year, city=city, measure=measure)
                facts.append(Fact(doc=doc_id, question=question, answer=value, value=digits))
            if number == 1:
                sentences.append(f"主要表现在：{rng.choice(PROBLEMS)}。")
            if number == 2:
                sentences.insert(0, f"{year + 1}年，我们将{rng.choice(PLANS)}。")
            lines += ["".join(sentences), ""]
    return doc_id, "\n".join(lines), facts


def generate(out: Path, docs: int, seed: int = 7, paragraphs: int = 36) -> list[Fact]:
    """Write `docs` documents and facts.jsonl into `out`; the same seed writes the same corpus."""
    pairs = [(city, year) for year in YEARS for city in CITIES]
    if docs > len(pairs):
        raise ValueError(f"at most {len(pairs)} documents (one per city and year)")
    rng = random.Random(seed)
    rng.shuffle(pairs)
    out.mkdir(parents=True, exist_ok=True)
    facts: list[Fact] = []
    for city, year in pairs[:docs]:
        doc_id, text, doc_facts = write_document(rng, city, year, paragraphs)
        (out / doc_id).write_text(text, encoding="utf-8")
        facts += doc_facts
    with open(out / "facts.jsonl", "w", encoding="utf-8") as handle:
        for fact in facts:
            handle.write(json.dumps(asdict(fact), ensure_ascii=False) + "\n")
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    facts = generate(args.out, args.docs, args.seed)
    print(f"{args.docs} documents, {len(facts)} facts in {args.out}")


if __name__ == "__main__":
    main()
