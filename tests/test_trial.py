"""Trial analysis: the estimate against statsmodels, the bootstrap, randomization
inference, balance, the illustrative demo data and the ``compstat trial`` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as scipy_stats

from compstat.cli import build_cli
from compstat.stats import simulate, trial

ZONE_SIZES = {"P": 15, "N": 14, "O": 15, "S": 14, "E": 14}  # 72 sectors in 5 zones


def sector_list() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": [f"{zone}-{i}" for zone, n in ZONE_SIZES.items() for i in range(1, n + 1)],
            "zone": [zone for zone, n in ZONE_SIZES.items() for _ in range(n)],
        }
    )


def simulated_trial(seed: int) -> dict:
    """Arrays of one illustrative trial (behaviour score, years of service as control)."""
    assignment = simulate.illustrative_assignment(sector_list(), seed=seed)
    covariates = simulate.illustrative_covariates(assignment, seed=seed)
    higher = covariates.set_index("unit_id")["higher_crime"]
    officers = simulate.simulate_officers(assignment, higher, seed=seed)
    unit = pd.Index(assignment["sector"]).get_indexer(officers["sector"])
    return {
        "y": officers["behaviour_score"].to_numpy(),
        "higher_crime": higher.reindex(officers["sector"]).to_numpy(),
        "controls": officers[["years_service"]].to_numpy(dtype=float),
        "unit_of_row": unit,
        "arms": assignment["arm"].to_numpy(),
        "strata": assignment["stratum"].to_numpy(),
    }


@pytest.fixture(scope="module")
def data() -> dict:
    return simulated_trial(seed=11)


def design_of(data: dict) -> np.ndarray:
    treatment = data["arms"][data["unit_of_row"]]
    return trial.design_matrix(treatment, data["higher_crime"], data["controls"])


def estimate(data: dict, draws: int = 999, seed: int = 1) -> dict:
    return trial.estimate_interaction(**data, draws=draws, seed=seed)


def term(result: dict, name: str) -> dict:
    return next(row for row in result["terms"] if row["term"] == name)


def test_estimate_and_clustered_errors_equal_statsmodels(data):
    design = design_of(data)
    fit = trial.fit_cluster_ols(design, data["y"], data["unit_of_row"])
    reference = sm.OLS(data["y"], design).fit(
        cov_type="cluster", cov_kwds={"groups": data["unit_of_row"]}, use_t=True
    )
    assert_allclose(fit.params, reference.params, rtol=1e-10)
    assert_allclose(fit.cov, reference.cov_params(), rtol=1e-10)
    assert_allclose(fit.std_errors, reference.bse, rtol=1e-10)
    assert fit.df == reference.df_resid_inference == 59
    low, high, p_value = trial.t_inference(fit.params, fit.std_errors, fit.df)
    assert_allclose(np.column_stack([low, high]), reference.conf_int(), rtol=1e-10)
    assert_allclose(p_value, reference.pvalues, rtol=1e-8)


def test_result_reports_statsmodels_numbers_per_term(data):
    result = estimate(data)
    design = design_of(data)
    reference = sm.OLS(data["y"], design).fit(
        cov_type="cluster", cov_kwds={"groups": data["unit_of_row"]}, use_t=True
    )
    names = trial.column_names(["years_service"])
    for row in result["terms"]:
        i = names.index(row["term"])
        assert_allclose(row["estimate"], reference.params[i], rtol=1e-10)
        assert_allclose(row["std_error"], reference.bse[i], rtol=1e-10)
        assert_allclose([row["ci_low"], row["ci_high"]], reference.conf_int()[i], rtol=1e-10)
    assert result["n_obs"] == len(data["y"]) and result["n_clusters"] == 60


def test_planted_interaction_is_recovered_within_its_interval(data):
    planted = simulate.PLANTED_EFFECTS["behaviour_score"]
    result = estimate(data)
    for name in trial.TERMS:
        row = term(result, name)
        assert row["ci_low"] < planted[name] < row["ci_high"], name
    interaction = term(result, "treatment:higher_crime")
    assert interaction["ci_high"] < 0
    assert interaction["p_value"] < 0.01 and interaction["wild_p_value"] < 0.01
    assert interaction["ri_p_value"] < 0.01


def test_wild_bootstrap_equals_refitting_every_draw(data):
    design, y, clusters = design_of(data), data["y"], data["unit_of_row"]
    weights = trial.cluster_weights(60, 25, np.random.default_rng(4), "webb")
    column = 3
    observed, boot = trial.wild_bootstrap_t(design, y, clusters, column, weights)
    kept = np.delete(design, column, axis=1)
    fitted = kept @ np.linalg.lstsq(kept, y, rcond=None)[0]
    codes, _ = trial.cluster_codes(clusters)
    refits = []
    for draw in range(weights.shape[1]):
        fit = trial.fit_cluster_ols(design, fitted + (y - fitted) * weights[codes, draw], clusters)
        refits.append(fit.params[column] / fit.std_errors[column])
    assert_allclose(boot, refits, rtol=1e-9)
    fit = trial.fit_cluster_ols(design, y, clusters)
    assert_allclose(observed, fit.params[column] / fit.std_errors[column])


def null_trials(count: int, seed: int = 0):
    """Small simulated trials with no effect at all: 60 sectors in 3 strata, 15 officers each."""
    rng = np.random.default_rng(seed)
    strata = np.repeat(["a", "b", "c"], 20)
    unit = np.repeat(np.arange(60), 15)
    for _ in range(count):
        arms = trial.redraw_arms(np.tile([1, 0], 30), strata, 1, rng)[0]
        higher = rng.permutation(np.repeat([1, 0], 30))[unit]
        y = rng.normal(0, 0.3, 60)[unit] + rng.normal(size=unit.size)
        yield {
            "y": y,
            "higher_crime": higher,
            "controls": None,
            "unit_of_row": unit,
            "arms": arms,
            "strata": strata,
        }


def test_wild_bootstrap_pvalue_is_reproducible_and_sensible(data):
    design = design_of(data)
    p_big = trial.wild_bootstrap_pvalue(
        design, data["y"], data["unit_of_row"], 1, draws=999, seed=3
    )
    again = trial.wild_bootstrap_pvalue(
        design, data["y"], data["unit_of_row"], 1, draws=999, seed=3
    )
    assert p_big == again and p_big < 0.001
    webb = trial.wild_bootstrap_pvalue(
        design, data["y"], data["unit_of_row"], 1, draws=999, seed=3, weights="webb"
    )
    assert webb < 0.001
    null = np.array(
        [
            [
                trial.wild_bootstrap_pvalue(
                    design_of(d), d["y"], d["unit_of_row"], c, draws=499, seed=i
                )
                for c in (1, 3)
            ]
            for i, d in enumerate(null_trials(40))
        ]
    )
    # Under the null the p-values are roughly uniform: large on average, rarely below 5 %.
    assert 0.35 < null.mean() < 0.65
    assert (null < 0.05).mean() <= 0.1


def test_redrawn_arms_keep_each_stratum_count():
    arms = np.array([1, 0, 1, 0, 0, 1, 1, 0, 1, 0])
    strata = np.array(["a", "a", "a", "a", "b", "b", "b", "c", "c", "c"])
    redrawn = trial.redraw_arms(arms, strata, 500, np.random.default_rng(0))
    for stratum in "abc":
        members = strata == stratum
        assert_array_equal(redrawn[:, members].sum(axis=1), arms[members].sum())
    assert len({row.tobytes() for row in redrawn}) > 10
    again = trial.redraw_arms(arms, strata, 500, np.random.default_rng(0))
    assert_array_equal(redrawn, again)


def test_randomization_inference_is_reproducible_and_respects_strata(data):
    first = trial.randomization_pvalues(**data, draws=500, seed=8)
    assert first == trial.randomization_pvalues(**data, draws=500, seed=8)
    assert first["treatment"] == 1 / 501  # nothing re-drawn is as extreme as a big effect
    null = np.array(
        [
            list(trial.randomization_pvalues(**d, draws=199, seed=i).values())
            for i, d in enumerate(null_trials(20, seed=1))
        ]
    )
    assert 0.35 < null.mean() < 0.65
    assert (null < 0.05).mean() <= 0.1
    rng = np.random.default_rng(np.random.SeedSequence(8))
    redrawn = trial.redraw_arms(data["arms"], data["strata"], 500, rng)
    for stratum in np.unique(data["strata"]):
        members = data["strata"] == stratum
        assert_array_equal(redrawn[:, members].sum(axis=1), data["arms"][members].sum())


def test_estimate_is_reproducible_with_a_seed(data):
    assert estimate(data, draws=300, seed=5) == estimate(data, draws=300, seed=5)
    assert term(estimate(data, draws=300), "higher_crime")["ri_p_value"] is None


def test_collinear_design_is_refused(data):
    everything_high = dict(data, higher_crime=data["arms"][data["unit_of_row"]])
    with pytest.raises(ValueError, match="collinear"):
        estimate(everything_high, draws=10)


def test_balance_table_means_and_tests():
    rng = np.random.default_rng(2)
    arms = np.repeat([1, 0], 30)
    strata = np.tile(["x", "y"], 30)
    covariates = pd.DataFrame({"rate": rng.normal(100, 10, 60), "constant": np.ones(60)})
    table = trial.balance_table(covariates, arms, strata, draws=999, seed=1)
    rate = table.set_index("covariate").loc["rate"]
    treated, control = covariates["rate"][:30], covariates["rate"][30:]
    assert_allclose(rate["mean_treatment"], treated.mean())
    assert_allclose(rate["difference"], treated.mean() - control.mean())
    welch = scipy_stats.ttest_ind(treated, control, equal_var=False).pvalue
    assert_allclose(rate["p_value"], welch, rtol=1e-10)
    assert 0 < rate["ri_p_value"] <= 1
    constant = table.set_index("covariate").loc["constant"]
    assert np.isnan(constant["p_value"]) and constant["ri_p_value"] == 1.0
    again = trial.balance_table(covariates, arms, strata, draws=999, seed=1)
    pd.testing.assert_frame_equal(table, again)


def test_illustrative_assignment_draws_60_sectors_within_zones():
    sectors = sector_list()
    drawn = simulate.illustrative_assignment(sectors, seed=4)
    assert len(drawn) == 60 and drawn["arm"].sum() == 30 and drawn["illustrative"].all()
    assert drawn["sector"].isin(sectors["unit_id"]).all() and drawn["sector"].is_unique
    per_zone = drawn.groupby("zone")["arm"].agg(["size", "sum"])
    assert per_zone["size"].to_dict() == dict.fromkeys(["E", "N", "O", "P", "S"], 12)
    assert (per_zone["sum"] == 6).all()
    assert_array_equal(drawn["stratum"], drawn["zone"])
    pd.testing.assert_frame_equal(drawn, simulate.illustrative_assignment(sectors, seed=4))
    assert not drawn.equals(simulate.illustrative_assignment(sectors, seed=5))


def test_zones_with_an_odd_number_of_study_sectors_share_the_treated_ones():
    drawn = simulate.illustrative_assignment(sector_list(), n_study=58, seed=4)
    per_zone = drawn.groupby("zone")["arm"].agg(["size", "sum"])
    # 58 in proportion to 15/14/15/14/14 sectors: quotas 12.08 and 11.28, so the one
    # remaining sector goes to the first 14-sector zone by name (E).
    assert per_zone["size"].to_dict() == {"E": 12, "N": 11, "O": 12, "P": 12, "S": 11}
    assert drawn["arm"].sum() == 29
    assert sorted(per_zone.loc[["N", "S"], "sum"]) == [5, 6]
    assert (per_zone.loc[["E", "O", "P"], "sum"] == 6).all()


# --- the commands ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("trial")
    sector_list().to_csv(directory / "sectors.csv", index=False)
    result = run(
        "trial",
        "demo",
        "--sectors",
        str(directory / "sectors.csv"),
        "--out-dir",
        str(directory / "demo"),
        "--seed",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ILLUSTRATIVE")
    return directory / "demo"


def run(*args: str):
    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


def demo_files(demo_dir) -> list[str]:
    return [
        "--assignment",
        str(demo_dir / "illustrative_assignment.csv"),
        "--covariates",
        str(demo_dir / "illustrative_covariates.csv"),
    ]


def estimate_args(demo_dir) -> list[str]:
    return [
        "trial",
        "estimate",
        *demo_files(demo_dir),
        "--outcomes",
        str(demo_dir / "illustrative_officer_outcomes.csv"),
        "--outcome",
        "behaviour_score",
        "--controls",
        "years_service",
        "--draws",
        "2000",
    ]


def test_demo_files_are_labelled_illustrative(demo_dir):
    for name in ("assignment", "covariates", "officer_outcomes"):
        frame = pd.read_csv(demo_dir / f"illustrative_{name}.csv")
        assert frame["illustrative"].all(), name
    assignment = pd.read_csv(demo_dir / "illustrative_assignment.csv")
    assert len(assignment) == 60 and assignment["arm"].sum() == 30


def test_estimate_json_contract(demo_dir):
    result = run(*estimate_args(demo_dir), "--seed", "9", "--format", "json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert {"n_obs", "n_clusters", "terms"} <= output.keys()
    assert output["n_clusters"] == 60 and output["illustrative"] is True
    assert [row["term"] for row in output["terms"]] == list(trial.TERMS)
    keys = [
        "term",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "p_value",
        "wild_p_value",
        "ri_p_value",
    ]
    assert all(list(row) == keys for row in output["terms"])
    officers = pd.read_csv(demo_dir / "illustrative_officer_outcomes.csv")
    assert output["n_obs"] == len(officers)
    interaction = output["terms"][2]
    assert interaction["ci_low"] < -0.7 < interaction["ci_high"]
    assert output["terms"][1]["ri_p_value"] is None
    assert json.loads(run(*estimate_args(demo_dir), "--seed", "9").stdout) == output


def test_estimate_csv_and_markdown(demo_dir):
    csv = run(*estimate_args(demo_dir), "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("term,estimate,std_error,ci_low,ci_high,p_value,wild_p_value,ri_p")
    assert [line.split(",")[0] for line in csv[1:]] == list(trial.TERMS)
    markdown = run(*estimate_args(demo_dir), "--format", "md").stdout
    assert "ILLUSTRATIVE" in markdown and "| treatment:higher_crime |" in markdown


def test_balance_commands(demo_dir):
    result = run("trial", "balance", *demo_files(demo_dir), "--draws", "2000")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert (output["n_sectors"], output["n_treatment"], output["n_control"]) == (60, 30, 30)
    assert [row["covariate"] for row in output["covariates"]] == ["simulated_rate", "higher_crime"]
    covariates = pd.read_csv(demo_dir / "illustrative_covariates.csv")
    assignment = pd.read_csv(demo_dir / "illustrative_assignment.csv")
    merged = assignment.merge(covariates, left_on="sector", right_on="unit_id")
    means = merged.groupby("arm")["simulated_rate"].mean()
    assert_allclose(output["covariates"][0]["mean_treatment"], means[1])
    assert_allclose(output["covariates"][0]["mean_control"], means[0])
    csv = run("trial", "balance", *demo_files(demo_dir), "--draws", "2000", "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("covariate,mean_treatment,mean_control")
    markdown = run("trial", "balance", *demo_files(demo_dir), "--draws", "2000", "--format", "md")
    assert "ILLUSTRATIVE" in markdown.stdout and "| simulated_rate |" in markdown.stdout


def test_arm_words_and_parquet_are_read(demo_dir, tmp_path):
    assignment = pd.read_csv(demo_dir / "illustrative_assignment.csv")
    assignment["arm"] = assignment["arm"].map({1: "Tratamiento", 0: "control"})
    assignment.drop(columns="illustrative").to_parquet(tmp_path / "a.parquet")
    args = estimate_args(demo_dir)
    args[args.index("--assignment") + 1] = str(tmp_path / "a.parquet")
    words = json.loads(run(*args).stdout)
    numbers = json.loads(run(*estimate_args(demo_dir)).stdout)
    assert words["terms"] == numbers["terms"]


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_bad_input_is_one_line_naming_the_file(demo_dir, tmp_path):
    bad_arm = write(tmp_path / "arms.csv", "sector,arm\nP-1,1\nP-2,maybe\n")
    result = run("trial", "balance", "--assignment", bad_arm, "--covariates", bad_arm)
    assert result.exit_code == 1
    assert result.output == (
        f"error: {bad_arm}: line 3: arm 'maybe' is not 1/0, treatment/control or "
        "tratamiento/control\n"
    )
    missing = str(tmp_path / "nowhere.csv")
    result = run("trial", "balance", "--assignment", missing, *demo_files(demo_dir)[2:])
    assert (result.exit_code, result.output) == (1, f"error: {missing}: no such file\n")
    outcomes = write(tmp_path / "o.csv", "sector,score\nP-1.1,3\n")
    args = estimate_args(demo_dir)
    args[args.index("--outcomes") + 1] = outcomes
    args[args.index("--outcome") + 1] = "score"
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {outcomes}: line 2: sector 'P-1.1' is not in")
    no_moderator = write(tmp_path / "cov.csv", "unit_id,rate\nP-1,3\n")
    result = run("trial", "balance", *demo_files(demo_dir)[:2], "--covariates", no_moderator)
    assert result.output == f"error: {no_moderator}: missing column(s) higher_crime\n"
    result = run(*estimate_args(demo_dir), "--draws", "100")
    assert (result.exit_code, result.output) == (
        1,
        "error: --draws must be at least 2000, not 100\n",
    )
