"""`python -m guanxi policy-docs [-o docs/policies.md]`: the policy reference, generated
from policy.registry.REGISTRY so it can never disagree with the code (a test compares the
committed file with this command's output)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from guanxi.policy import registry

SECTIONS = {
    "customers": "客户档案（customers）",
    "grading": "客户分类分级（grading）",
    "cooperation": "合作状态（cooperation）",
    "credit": "资信与信用额度（credit）",
    "security": "登录安全（security）",
    "compliance": "保密与合规（compliance）",
}

INTRO = """\
# 公司策略（Company policy）

> 本文件由 `python -m guanxi policy-docs -o docs/policies.md`（`make docs`）根据
> `src/guanxi/policy/registry.py` 自动生成，请勿手工编辑。
> Generated from the policy registry; do not edit by hand.

客户管理制度中的每一个数字、阶梯、分段、期限和规则都是**策略**，而不是代码。
下表列出每条规则的键（key）、名称、类型、默认值（MISSION.md 中的默认策略包）和说明。

## 版本与生效时间

- 公司在管理后台（“策略版本”）新建一个**草稿版本**，只需填写要覆盖的规则取值；
  每个取值都按本表的类型和校验规则检查，错误以中文提示在对应字段旁。
- 草稿**发布**后，自其**生效时间**（`effective_from`）起执行。某一时刻生效的规则 =
  注册表默认值，依次叠加所有在该时刻之前生效的已发布版本（按生效时间、版本号排序）。
- 已发布的版本不可修改：修改策略就是发布一个新版本。新建、修改草稿和发布都会写入审计日志。
- 代码中读取规则一律使用 `policy.get(key, at=...)`：`at` 为业务发生的时间（默认为当前时间），
  因此历史业务按当时有效的规则解释；`policy.version_at(at)` 给出当时生效的版本号
  （0 表示仅默认值），业务决定会记录所依据的版本号，以便解释。
- 同一进程内发布会立即生效；其他进程在几秒的缓存期后读到新版本。

类型：整数（int）、小数（decimal，建议写成字符串如 `"0.80"`，避免浮点误差）、布尔值（bool）、
文本（str）、列表（list）、对象（dict）。默认值以紧凑 JSON 显示。
"""


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cell(text: str) -> str:
    """Markdown table cells cannot hold pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole of docs/policies.md."""
    by_section: dict[str, list[registry.Rule]] = {}
    for rule in registry.REGISTRY.values():
        by_section.setdefault(rule.section, []).append(rule)
    order = [s for s in SECTIONS if s in by_section] + [s for s in by_section if s not in SECTIONS]
    parts = [INTRO]
    for section in order:
        parts.append(f"\n## {SECTIONS.get(section, section)}\n\n")
        parts.append("| 规则（key） | 名称 | 类型 | 默认值 | 说明 |\n")
        parts.append("| --- | --- | --- | --- | --- |\n")
        for rule in by_section[section]:
            cells = [
                f"`{rule.key}`",
                _cell(rule.label),
                f"{registry.KIND_NAMES[rule.kind]}（{rule.kind}）",
                f"`{_cell(compact_json(rule.default))}`",
                _cell(rule.help),
            ]
            parts.append("| " + " | ".join(cells) + " |\n")
    return "".join(parts)


class Command(BaseCommand):
    help = "根据策略注册表生成 Markdown 格式的策略说明（docs/policies.md）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", help="输出文件路径（默认输出到标准输出）。")

    def handle(self, *args: Any, **options: Any) -> None:
        text = render()
        if options["output"]:
            path = Path(options["output"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.stderr.write(f"已写入 {path}（{len(registry.REGISTRY)} 条规则）。")
        else:
            self.stdout.write(text, ending="")
