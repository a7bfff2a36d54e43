import { checkJavascriptSubset } from "../../domain/tasks/javascriptSubset.js";
import type { SubsetChecker } from "../../domain/tasks/subset.js";
import { checkPythonSubset } from "./pythonSubset.js";

/**
 * The subset check of the code's language: JavaScript's pure one from the domain, Python's
 * through python3's own parser. It is an adapter because Python's runs a process; the worker
 * runs it before its sandbox, and the coordinator before it runs a result again or an
 * escalation's answer (docs/decisions.md, "Subset checks: where they live and why").
 */
export const checkSubset: SubsetChecker = async (language, code) =>
  language === "python" ? checkPythonSubset(code) : checkJavascriptSubset(code);
