"""JUnit XML, for CI systems and GitHub checks: a <testsuite> per lab."""
import io
import sys
import xml.etree.ElementTree as ElementTree

def as_junit(report):
    """An ElementTree: <testsuites> with one <testsuite> per lab, one <testcase> per test
    (points as a property), <failure> with the feedback, <skipped> with the reason,
    and an <error> case when a lab's grader could not run; what staging ignored is
    the suite's <system-out>. Every text in it is safe (report.safe()): no character
    XML 1.0 forbids, nothing read as markup."""
    report = report.safe()
    suites = ElementTree.Element("testsuites", name="socklab")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0, "time": 0.0}
    for result in report.labs:
        suite = ElementTree.SubElement(suites, "testsuite", name=result.title)
        counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0, "time": 0.0}
        classname = f"{result.key}.{result.name}"
        for test in result.tests:
            case = ElementTree.SubElement(suite, "testcase", classname=classname,
                                          name=test.name, time=f"{test.duration:.3f}")
            properties = ElementTree.SubElement(case, "properties")
            ElementTree.SubElement(properties, "property", name="points",
                                   value=f"{test.score}/{test.max}")
            if test.hidden:
                ElementTree.SubElement(properties, "property", name="hidden", value="true")
            counts["tests"] += 1
            counts["time"] += test.duration
            if test.outcome == "failed":
                counts["failures"] += 1
                first = (test.feedback.splitlines() or ["failed"])[0]
                ElementTree.SubElement(case, "failure", message=first).text = test.feedback
            elif test.outcome in ("skipped", "not_run"):
                counts["skipped"] += 1
                ElementTree.SubElement(case, "skipped", message=test.feedback)
        if result.problem:
            case = ElementTree.SubElement(suite, "testcase", classname=classname,
                                          name="grader", time="0")
            ElementTree.SubElement(case, "error", message=result.problem.splitlines()[0]
                                   ).text = result.problem
            counts["tests"] += 1
            counts["errors"] += 1
        if result.ignored:
            ElementTree.SubElement(suite, "system-out").text = "\n".join(result.ignored)
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, f"{value:.3f}" if key == "time" else str(value))
    return ElementTree.ElementTree(suites)


def render_junit(report, stream=sys.stdout):
    tree = as_junit(report)
    ElementTree.indent(tree)
    buffer = io.BytesIO()
    tree.write(buffer, encoding="utf-8", xml_declaration=True)
    stream.write(buffer.getvalue().decode("utf-8") + "\n")
