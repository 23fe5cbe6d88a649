"""The parameter schema, loading, overrides and validation.

Every default here is the baseline: ``params/baseline.toml`` states them in
full and a test keeps the two equal. Each field's description ends with its
source (a row of ``facts.md``) or says "assumption".

Loading never raises a traceback at a user: every problem becomes a
`ParamsError` whose lines each name the key at fault.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import pickle
import re
import tomllib
from typing import Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..common import shipped
from ..common.errors import OlsimError, ParamsError
from ..common.errors import shown
from ..common.validation import Strict, format_validation_error, is_tag, read_toml, suggest
from .fields import F, parse_month
from .policies import Policy
from .sectors import Sector, default_sectors, default_mix


# ---------------------------------------------------------------- sections


class Calendar(Strict):
    start: str = F("2016-01", "brief (model.md): month 0 = 2016-01", "first month, YYYY-MM")
    months: int = F(120, "brief (model.md): 120 months", "months to simulate", ge=1, le=1200)
    warmup: int = F(
        0,
        "assumption: 0 keeps every shipped calibration's runs as they were; olsim compare uses 36 "
        "(one contract, ODD 5)",
        "months run before start and left out of the tables (the initial workers' withheld wages build up meanwhile)",
        ge=0,
        le=600,
    )

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        parse_month(v)
        return v

    @model_validator(mode="after")
    def _span(self):
        if self.months + self.warmup > 1200:
            raise ValueError(f"months + warmup must be at most 1200 (got {self.months} + {self.warmup})")
        return self

    def index(self, when: int | str) -> int:
        """Month index of an int (returned as is) or a 'YYYY-MM' string."""
        if isinstance(when, int):
            return when
        y0, m0 = parse_month(self.start)
        y, m = parse_month(when)
        return (y - y0) * 12 + (m - m0)

    def date(self, month: int) -> str:
        y0, m0 = parse_month(self.start)
        k = (m0 - 1) + month
        return f"{y0 + k // 12:04d}-{k % 12 + 1:02d}"


class Host(Strict):
    workers: int = Field(description="workers posted here at month 0 (the state keeps this many)", ge=0, le=10_000_000)
    wage: float = Field(description="employer's monthly payment per worker at the base hours, USD", gt=0, le=100_000)
    plan: float | None = Field(
        None, description="monthly plan contribution per worker, USD (default 0.7 x wage)", ge=0, le=100_000
    )
    side_wage: float = F(150.0, "assumption", "monthly earnings of a side job, USD", ge=0, le=100_000)
    promised_wage: float | None = Field(
        None,
        description="monthly pay the worker was promised, USD (default: the employer's payment, wage); facts: $120 a month promised in Kuwait, 1996 (NYT 2015), $850 in Poland (ILO via Reuters 2017); a reported figure to compare with, not used by the model's rules",
        ge=0,
        le=100_000,
    )
    escape_route: float = F(
        0.3, "assumption", "chance an escape attempt succeeds with no vigilance and no passport held", ge=0, le=1
    )
    sectors: dict[str, float] | None = Field(
        None,
        description="share of the host's workers in each sector (normalised; default: the host's mix in "
        "sim/core/sectors.py, DEFAULT_MIX, or construction alone for a host not among the defaults)",
    )
    death_factor: float = F(1.0, "assumption", "death hazard relative to deaths.rate", ge=0, le=100)
    shift_in: bool = F(
        True,
        "assumption",
        "the state may move here posts that sanctions closed at other hosts (state.shift_share); a sector's, for a cell",
    )
    # the host's own settings where its work differs (a sector's, for a cell); none: the run's
    hours_base: float | None = F(None, "", "work.hours_base at this host (none: work.hours_base)", gt=0, le=24)
    hours_max: float | None = F(None, "", "work.hours_max at this host (none: work.hours_max)", gt=0, le=24)
    fees_share: float | None = F(
        None, "", "remittance.fees_share at this host (none: remittance.fees_share)", ge=0, le=1
    )
    team_size: int | None = F(
        None, "", "population.team_size at this host (none: population.team_size)", ge=1, le=100_000
    )
    minder_ratio: int | None = F(
        None, "", "population.minder_ratio at this host (none: population.minder_ratio)", ge=1, le=100_000
    )
    camp_size: int | None = F(
        None, "", "population.camp_size at this host (none: population.camp_size)", ge=1, le=10_000_000
    )
    bank_share: float | None = F(
        None,
        "assumption",
        "initial share of the host's revenue sent by bank (none: channels.bank, courier and mule as set)",
        ge=0,
        le=1,
    )
    base_interdiction: float = F(
        0.01, "assumption", "share of bulk cash seized at this host's borders without sanctions", ge=0, le=1
    )
    # legal status: how postings the sanctions block still get in (facts: "new arrivals moved to student and tourist
    # visas"; "some use false nationalities", UN Panel 2024), and how visible each status is under a mandate
    route_student: float = F(
        0.4,
        "assumption; facts: arrivals moved to student and tourist visas (RFA, WSJ, Rosstat)",
        "share of evading postings sent on student visas",
        ge=0,
        le=1,
    )
    route_tourist: float = F(
        0.4,
        "assumption; facts: arrivals moved to student and tourist visas (RFA, WSJ, Rosstat)",
        "share of evading postings sent on tourist visas",
        ge=0,
        le=1,
    )
    route_other: float = F(
        0.2,
        "assumption; facts: front companies, false nationalities (UN Panel 2024)",
        "share of evading postings under another status (front company, false nationality)",
        ge=0,
        le=1,
    )
    detect_student: float = F(
        0.2,
        "assumption",
        "yearly chance a worker on a student visa is found and repatriated under a fully enforced mandate",
        ge=0,
        le=1,
    )
    detect_tourist: float = F(
        0.4,
        "assumption (tourist visas are short and must be renewed)",
        "yearly chance a worker on a tourist visa is found and repatriated under a fully enforced mandate",
        ge=0,
        le=1,
    )
    detect_other: float = F(
        0.1,
        "assumption",
        "yearly chance a worker under another status is found and repatriated under a fully enforced mandate",
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _routes(self):
        if self.route_student + self.route_tourist + self.route_other <= 0:
            raise ValueError("route_student + route_tourist + route_other must be > 0")
        return self

    @model_validator(mode="after")
    def _default_plan(self):
        if self.plan is None:
            object.__setattr__(self, "plan", round(0.7 * self.wage, 2))
        if self.promised_wage is None:
            object.__setattr__(self, "promised_wage", self.wage)
        return self


def _default_hosts() -> dict[str, Host]:
    # sources: facts.md "Scale and revenue" and "Wages, the state's take, bribes"
    return {
        "china": Host(
            workers=50_000, wage=370.0, plan=260.0, side_wage=150.0, escape_route=0.10, base_interdiction=0.01
        ),
        "russia": Host(
            workers=30_000,
            wage=900.0,
            plan=600.0,
            side_wage=900.0,
            escape_route=0.50,
            base_interdiction=0.01,
            route_student=0.39,
            route_tourist=0.61,
            route_other=0.0,
        ),
        "gulf": Host(workers=8_000, wage=700.0, plan=550.0, side_wage=100.0, escape_route=0.30, base_interdiction=0.01),
        "africa": Host(
            workers=5_000, wage=500.0, plan=350.0, side_wage=150.0, escape_route=0.20, base_interdiction=0.01
        ),
        "asia": Host(workers=4_000, wage=400.0, plan=280.0, side_wage=100.0, escape_route=0.30, base_interdiction=0.01),
        "europe": Host(
            workers=1_000, wage=850.0, plan=650.0, side_wage=200.0, escape_route=0.70, base_interdiction=0.01
        ),
    }


HOST_SOURCES = {
    "china": "workers: ~50k (US officials via Reuters 2020); wage 2,500-2,800 yuan ~ $370 and the worker gets 600-1,000 yuan, so plan ~ $260 (Yomiuri, Asahi 2024); side_wage, escape_route (China returns escapees), base_interdiction: assumption",
    "russia": "workers: ~30k (Reuters 2020; 30,023 permits end 2017); wage $800-1,000 (Daily NK 2015); plan $7,200/yr = $600/month (Daily NK ~2019-21; RFA ~$760); side_wage $800-1,000 (Daily NK 2015); routes: Q1 2020 entries 1,975 student and 3,067 tourist visas (Rosstat via RFA); escape_route, base_interdiction, detection: assumption",
    "gulf": "workers: 8k (Kuwait 5k, UAE 2k, Qatar 1.8k in 2013, Asan); wage, plan: assumption (workers keep ~10% in Qatar, Guardian 2014); side_wage, escape_route (embassy route, Kuwait 1997), base_interdiction: assumption",
    "africa": "workers: 5k (brief; Angola, Nigeria, Algeria, Eq. Guinea, Libya in Asan 2013); wage, plan, side_wage, escape_route, base_interdiction: assumption",
    "asia": "workers: 4k (brief; Mongolia 1.3k, Malaysia, Myanmar in Asan 2013); wage, plan, side_wage, escape_route, base_interdiction: assumption",
    "europe": "workers: 1k (brief; Poland ~450 in Asan 2013); wage $850 promised (ILO via Reuters 2017); plan: assumption (workers kept EUR 60-140, Volkskrant 2017); side_wage, escape_route, base_interdiction: assumption",
}


class Population(Strict):
    contract_months: int = F(
        36, "facts: contract typically 3 years (Lankov; Daily NK)", "contract length in months", ge=1, le=240
    )
    stranded_return: float = F(
        0.15,
        "assumption: returns were spread out; facts: the border began reopening in August 2023, strandings of 4-6+"
        " years (Daily NK; RFA), the stranded rotated out as replacements came (RFA 2023)",
        "the most a month of a host's workers kept past their contracts by a closed border who go home once it is"
        " open: each goes only as a replacement arrives (rules.stranded_release)",
        ge=0,
        le=1,
    )
    extension_prob: float = F(
        0.0,
        "assumption: 0 keeps every shipped calibration's runs as they were until the calibration refits the model "
        "with it (issue 30); facts: contracts typically 3 years, up to 10 (Lankov; Daily NK); $1,000 a bribe per "
        "extra year (Chosun 2013; HRNK 2016)",
        "chance a worker whose contract ends, the border open, stays for another extension_months (up to "
        "max_contract_months abroad)",
        ge=0,
        le=1,
        unit="share",
    )
    extension_months: int = F(
        12,
        "facts: a bribe of $1,000 per extra year (Chosun 2013; HRNK 2016): extensions by the year",
        "months an extension adds to a worker's contract",
        ge=1,
        le=240,
        unit="months",
    )
    max_contract_months: int = F(
        120,
        "facts: contracts up to 10 years (Lankov; Daily NK)",
        "the longest a contract can be extended to, in months abroad",
        ge=1,
        le=1200,
        unit="months",
    )
    team_size: int = F(
        8,
        "facts: teams of 6-10 (Daily NK 2016; RFA 2016)",
        "workers per team (mutual surveillance group)",
        ge=1,
        le=1000,
    )
    minder_ratio: int = F(
        50, "facts: one security officer per 50 workers (Chosun 2012)", "workers per minder", ge=1, le=10_000
    )
    camp_size: int = F(
        200,
        "assumption; facts: companies of 150+ (Daily NK 2016), one camp of 1,800 (NYT 2015)",
        "workers per camp (the unit of a group quota)",
        ge=1,
        le=100_000,
    )


class WorkerParams(Strict):
    productivity_sigma: float = F(0.15, "assumption", "sd of log productivity (lognormal, median 1)", ge=0, le=2)
    loyalty_min: float = F(
        0.4,
        "assumption; facts: selection of married workers with no defectors among relatives (Daily NK; Asiapress 2020)",
        "lowest loyalty (uniform)",
        ge=0,
        le=1,
    )
    loyalty_max: float = F(1.0, "assumption", "highest loyalty (uniform)", ge=0, le=1)
    risk_aversion_min: float = F(0.0, "assumption (Epstein 2002: U(0,1))", "lowest risk aversion (uniform)", ge=0, le=1)
    risk_aversion_max: float = F(
        1.0, "assumption (Epstein 2002: U(0,1))", "highest risk aversion (uniform)", ge=0, le=1
    )
    family_min: float = F(
        0.5,
        "assumption; facts: workers must be married with children (Daily NK; Asiapress 2020)",
        "lowest hostage weight of the family left behind",
        ge=0,
        le=1,
    )
    family_max: float = F(1.0, "assumption", "highest hostage weight of the family left behind", ge=0, le=1)
    informant_share: float = F(
        0.2,
        "facts: mutual surveillance groups of 5 (RFA 2016): one informant in five, assumption",
        "share of workers who inform on teammates",
        ge=0,
        le=1,
    )
    passport_confiscation: float = F(
        0.9,
        "facts: passports routinely confiscated (NYT 2015; US State Dept 2014)",
        "share of workers whose passport the minder holds",
        ge=0,
        le=1,
    )
    entry_bribe_median: float = F(
        500.0,
        "facts: $20-$3,000 to be posted (Chosun 2013; HRNK 2016)",
        "median entry bribe, USD (lognormal)",
        gt=0,
        le=1_000_000,
    )
    entry_bribe_sigma: float = F(
        1.0, "assumption, spanning the reported $20-$3,000", "sd of log entry bribe", ge=0, le=5
    )
    expected_share: float = F(
        0.5,
        "assumption; facts: promised pay vs ~10% received (NK Watch via NYT 2015)",
        "share of gross pay a worker expected to keep; below it he feels hardship",
        gt=0,
        le=1,
    )
    side_job_seek: float = F(
        0.5, "assumption", "chance a worker below his expectation asks for a side job this month", ge=0, le=1
    )
    debt_repay_share: float = F(
        0.5,
        "assumption: half the cash he holds goes to whoever lent him the entry bribe, the rest is kept for the "
        "minder's demands; facts: bribes to be posted of $20-$3,000 (Chosun 2013; HRNK 2016), paid on borrowed money",
        "share of the cash he holds that a worker pays each month, after the month's bribes, toward the debt of his "
        "entry bribe",
        ge=0,
        le=1,
    )


class MinderParams(Strict):
    vigilance_min: float = F(0.2, "assumption", "lowest minder vigilance (uniform)", ge=0, le=1)
    vigilance_max: float = F(0.6, "assumption", "highest minder vigilance (uniform)", ge=0, le=1)
    greed_min: float = F(0.2, "assumption", "lowest greed: chance of granting a side job for a bribe", ge=0, le=1)
    greed_max: float = F(0.8, "assumption", "highest greed", ge=0, le=1)
    pressure_base: float = F(
        0.2,
        "assumption, giving 13-14 h days (facts: 12-16 h, US advisory 2018)",
        "pressure with no shortfall (share of the way from base to max hours)",
        ge=0,
        le=1,
    )
    pressure_gain: float = F(
        3.0, "assumption", "extra pressure per unit of the team's shortfall ratio last month", ge=0, le=100
    )
    side_bribe_share: float = F(
        0.3,
        "assumption; facts: side earnings split with the minder (NYT 2015)",
        "minder's share of side-job earnings",
        ge=0,
        le=1,
    )
    threat_prob: float = F(
        0.5,
        "assumption; facts: send-home threat for missed targets (NYT 2015)",
        "chance a worker short of the plan is threatened this month",
        ge=0,
        le=1,
    )
    threat_bribe: float = F(100.0, "assumption", "bribe demanded to stay when threatened, USD", ge=0, le=1_000_000)
    send_home_unreplaced: float = F(
        0.5,
        "assumption: an empty post loses its plan until a candidate is screened (facts: selection takes 4-6 months, "
        "Daily NK 2024-2025), but the threat is the workers' biggest fear (NYT 2015): carried out half the time",
        "chance a minder carries out the send-home threat on a worker who cannot pay when no candidate or veteran "
        "is waiting for his host (with the pipeline on); with one waiting, or the pipeline off, he always does",
        ge=0,
        le=1,
    )
    vigilance_boost: float = F(0.1, "assumption", "vigilance added to the camp's minders after an escape", ge=0, le=1)
    vigilance_decay: float = F(
        0.1, "assumption", "share of the excess over his own level a minder's vigilance loses each month", ge=0, le=1
    )
    replacement_boost: float = F(
        0.2, "assumption", "extra vigilance of a minder sent to replace a punished one", ge=0, le=1
    )


class WorkParams(Strict):
    hours_base: float = F(
        12.0,
        "facts: 12-16 h/day, 7 a.m.-7 p.m. (US advisory 2018; NYT 2015)",
        "hours per day at no pressure",
        gt=0,
        le=24,
    )
    hours_max: float = F(
        18.0, "facts: up to 20 h/day (NYT 2015); assumption", "hours per day at full pressure", gt=0, le=24
    )
    side_job_share: float = F(0.3, "assumption", "share of a full side-job month worked in spare time", ge=0, le=1)


class RemittanceParams(Strict):
    rule: Literal["plan", "share", "group_quota"] = F(
        "plan",
        "facts: fixed monthly plan per worker (Daily NK; RFA)",
        "how the gross is split: plan | share | group_quota",
    )
    fees_share: float = F(
        0.3,
        "facts: the state keeps a fixed plan 'plus fees and voluntary contributions' (NYT 2015; Daily NK); share: assumption",
        "share of what is left after the plan taken as fees, contributions and board (plan and group_quota rules)",
        ge=0,
        le=1,
    )
    share: float = F(
        0.7,
        "facts: workers keep 10-33% (Guardian 2014; Asan; Chosun 2012; Daily NK 2016)",
        "state's share of gross under the share rule",
        ge=0,
        le=1,
    )
    ledger_monthly: float = F(
        150.0,
        "facts: $100-200/month written in a ledger (BBC 2025)",
        "part of what a worker keeps that is held on a ledger until return, USD/month",
        ge=0,
        le=100_000,
    )
    coupon_share: float = F(
        0.0,
        "facts: families at home are paid in coupons for state stores, often with nothing to buy (NYT 2015); the "
        "share is an assumption: 0 keeps every shipped calibration's runs as they were until the calibration refits "
        "the model with it (issue 30)",
        "share of what a worker keeps beyond the ledger that is paid to his family in coupons for state stores, not "
        "in cash",
        ge=0,
        le=1,
        unit="share",
    )
    coupon_value: float = F(
        0.5,
        "assumption; facts: coupons for state stores that often have nothing to buy (NYT 2015)",
        "what a dollar of coupons buys at the state stores: his welfare (net gain) counts coupons at this value",
        ge=0,
        le=1,
        unit="share",
    )
    cash_months: int = F(
        1,
        "assumption: monthly; facts: paid in cash once in five months in Kuwait (NYT 2015)",
        "months between a worker's paydays: what he keeps beyond the ledger and the coupons is held by the company "
        "and handed to him in cash every cash_months months of his posting; held pay is paid on completion or "
        "repatriation and lost if he is sent home, escapes, is caught or dies",
        ge=1,
        le=120,
        unit="months",
    )
    ledger_pay_prob: float = F(
        0.7,
        "assumption; facts: ledger 'may never be paid' (BBC 2025)",
        "chance the ledger is paid when the worker returns",
        ge=0,
        le=1,
    )


class EscapeParams(Strict):
    weight_pay: float = F(0.5, "assumption", "weight of the pay gap in hardship", ge=0, le=1)
    weight_hours: float = F(0.25, "assumption", "weight of overwork in hardship", ge=0, le=1)
    weight_debt: float = F(0.25, "assumption", "weight of unpaid entry-bribe and plan debt in hardship", ge=0, le=1)
    threshold: float = F(
        0.0,
        "assumption, tuned to 0.5-5 escapes per 1,000 worker-years (Epstein 2002 uses 0.1)",
        "grievance minus risk above which escape is attractive",
        ge=-2,
        le=2,
    )
    steepness: float = F(0.05, "assumption", "scale of the logistic smoothing of Epstein's threshold", gt=0, le=10)
    attempt_rate: float = F(
        0.05,
        "assumption, tuned to 0.5-5 escapes per 1,000 worker-years (facts: inferred)",
        "monthly chance of trying when escape is clearly attractive",
        ge=0,
        le=1,
    )
    report_prob: float = F(
        0.2,
        "assumption; facts: mutual surveillance (RFA 2016)",
        "chance one informant in the team reports an intending teammate",
        ge=0,
        le=1,
    )
    passport_effect: float = F(
        0.5,
        "assumption; facts: passports confiscated (NYT 2015)",
        "cut in the chance of success when the minder holds the passport",
        ge=0,
        le=1,
    )
    memory: float = F(0.3, "assumption", "weight of this month in a worker's running average of pay", gt=0, le=1)


class DeathParams(Strict):
    rate: float = F(
        14.0,
        "facts: ~16 per 10,000 workers a year (RFA 2016) at a mean above the base hours",
        "deaths per 10,000 worker-years at the base hours",
        ge=0,
        le=10_000,
    )
    hours_slope: float = F(0.15, "assumption", "log-increase of the death hazard per extra hour a day", ge=0, le=5)


class ChannelParams(Strict):
    bank: float = F(0.5, "assumption", "initial share of revenue sent by bank transfer", ge=0, le=1)
    courier: float = F(
        0.3, "assumption; facts: bulk cash by couriers", "initial share sent as bulk cash by couriers", ge=0, le=1
    )
    mule: float = F(
        0.2,
        "assumption; facts: returning workers act as mules",
        "initial share carried by returning workers",
        ge=0,
        le=1,
    )
    bank_fee: float = F(0.02, "assumption", "share lost to fees and front companies by bank", ge=0, le=1)
    courier_fee: float = F(0.05, "assumption", "share lost to courier costs", ge=0, le=1)
    mule_fee: float = F(0.03, "assumption", "share lost when workers carry cash", ge=0, le=1)
    mule_capacity: float = F(5000.0, "assumption", "cash one returning worker can carry, USD", ge=0, le=1e9)
    adapt: float = F(0.5, "assumption", "how fast the state moves money away from a channel that loses it", ge=0, le=10)
    min_weight: float = F(0.02, "assumption", "smallest share the state keeps in any channel", ge=0, le=0.33)

    @model_validator(mode="after")
    def _weights(self):
        if self.bank + self.courier + self.mule <= 0:
            raise ValueError("bank + courier + mule must be > 0")
        return self


class StateParams(Strict):
    revenue_target_share: float = F(
        0.9, "assumption", "revenue target as a share of plan x initial workforce", ge=0, le=10
    )
    plan_raise: float = F(0.02, "assumption", "monthly rise of every plan while revenue is short of target", ge=0, le=1)
    plan_cap: float = F(
        1.5,
        "facts: plans rose $7,200 -> $10,000 and $4,500 -> $7,000 (Daily NK ~2019-21)",
        "highest plan as a multiple of the initial one",
        ge=1,
        le=10,
    )
    plan_reach: float = F(
        0.5,
        "assumption",
        "share of a host's workers short of the plan above which the state lowers that host's plan",
        ge=0,
        le=1,
    )
    plan_cut: float = F(0.03, "assumption", "monthly cut of a plan out of reach", ge=0, le=1)
    plan_floor: float = F(
        0.6, "assumption", "lowest plan the state cuts to, as a multiple of the initial one", ge=0, le=10
    )
    workforce_growth: float = F(
        0.005,
        "assumption; facts: contracts lined up for far more workers (UN Panel 2024)",
        "monthly growth of every host's workforce target while revenue is short of target (up to host_growth_cap)",
        ge=0,
        le=1,
    )
    target_growth: float = F(
        0.0,
        "assumption: 0, the workforce the scenario starts with is the one the state wants; facts: ~60,000-65,000 "
        "abroad in 2012 (NK Strategy Center, via NYT 2015), ~100,000 by 2015-2017 (NYT 2015; Reuters 2020): a "
        "scenario that starts in 2012 grows its targets (params/history_2012.toml)",
        "yearly growth of every host's workforce target, whatever the revenue (the state's plan to send more "
        "workers), applied monthly, up to host_growth_cap",
        ge=0,
        le=1,
        unit="share a year",
    )
    host_growth_cap: float = F(
        2.0,
        "assumption",
        "largest workforce target a host can reach by the state's shifting, as a multiple of its initial workers",
        ge=1,
        le=100,
    )
    shift_share: float = F(
        0.05,
        "assumption",
        "monthly share of the posts closed by sanctions that the state moves to more open hosts",
        ge=0,
        le=1,
    )
    evasion_flow: float = F(
        0.0,
        "assumption (docs/ODD.md 7.2.4; Known gap 10): how evasion acts is left for the sanctions-era calibration to decide",
        "how sanctions limit postings: 0 caps a host's stock at the reachable share of its target (nobody is posted while the workforce is above it); 1 fills each month the reachable share of its vacancies (target - active); in between, a mix",
        ge=0,
        le=1,
    )
    reprisal_severity: float = F(
        0.1,
        "facts: reprisals against families, camps (US State Dept; rights groups); weight: assumption",
        "weight of the family's punishment in a worker's risk",
        ge=0,
        le=5,
    )


class RecruitmentParams(Strict):
    pipeline: bool = F(
        True,
        "facts: selection takes 4-6 months, four rounds of screening (Daily NK 2024-2025); off: a post is filled, "
        "free, the month it opens (the model before issue 28)",
        "whether posts are filled from a pipeline of approved candidates: screened for selection_months, at most "
        "intake_share of the workforce a year, each costing the state screening_cost",
    )
    selection_months: int = F(
        5,
        "facts: selection takes 4-6 months, four rounds of screening; two to three times longer after a 2024 "
        "tightening (Daily NK 2024-2025)",
        "months from a candidate's approval to his posting (with the pipeline on)",
        ge=0,
        le=60,
        unit="months",
    )
    intake_share: float = F(
        0.28,
        "facts: ~28,000 new workers planned for 2025 (Daily NK 2025) against ~100,000 abroad (UN Panel 2024)",
        "candidates the state can approve in a year, all hosts together, as a share of the initial workforce "
        "(with the pipeline on)",
        gt=0,
        le=10,
        unit="share a year",
    )
    veteran_share: float = F(
        0.5,
        "assumption; facts: veterans posted twice or more are preferred (Daily NK 2024-2025)",
        "share of the workers who complete a contract who are posted again after rest_months at home, before any "
        "new candidate, without screening (with the pipeline on)",
        ge=0,
        le=1,
        unit="share",
    )
    rest_months: int = F(
        6,
        "assumption",
        "months a veteran spends at home before he may be posted again (with the pipeline on)",
        ge=0,
        le=120,
        unit="months",
    )
    anticipate: bool = F(
        True,
        "facts: quotas are set ahead by central agencies per province (Daily NK 2024-2025); assumption: the state "
        "screens for the contracts it knows will end within the selection time",
        "whether the state approves candidates ahead for contracts due to end within the selection time, as well as "
        "for the posts already open (with the pipeline on; off: it screens only for open posts)",
    )
    tightened_from: str = F(
        "2024-01",
        "facts: background checks two to three times longer after a 2024 tightening (Daily NK 2024-2025); the "
        "month is an assumption",
        "the month from which selection takes selection_months_tightened and entry bribes are multiplied by "
        'bribe_factor_tightened (with the pipeline on), YYYY-MM or "never"',
    )
    selection_months_tightened: int = F(
        10,
        "facts: background checks two to three times longer after the 2024 tightening (Daily NK 2024-2025); "
        "assumption: the whole selection twice as long",
        "months from a candidate's approval to his posting from tightened_from (with the pipeline on)",
        ge=0,
        le=60,
        unit="months",
    )
    bribe_factor_tightened: float = F(
        2.5,
        "facts: posting bribes doubled or tripled against earlier years (Daily NK 2025; NK News 2025): the midpoint",
        "entry bribes of those posted from tightened_from, as a multiple of the earlier ones (with the pipeline on)",
        ge=0,
        le=100,
        unit="number",
    )
    screening_cost: float = F(
        300.0,
        "assumption: screening, travel and placement, about half a month's plan; no source gives a figure",
        "what the state pays for each candidate it approves, USD (with the pipeline on)",
        ge=0,
        le=100_000,
        unit="USD",
    )

    @field_validator("tightened_from")
    @classmethod
    def _tightened(cls, v: str) -> str:
        if v != "never":
            parse_month(v)
        return v


# ---------------------------------------------------------------- root


class Params(Strict):
    description: str = Field("", description="free text describing this parameter set")
    calendar: Calendar = Field(default_factory=Calendar)
    population: Population = Field(default_factory=Population)
    hosts: dict[str, Host] = Field(default_factory=_default_hosts)
    worker: WorkerParams = Field(default_factory=WorkerParams)
    minder: MinderParams = Field(default_factory=MinderParams)
    work: WorkParams = Field(default_factory=WorkParams)
    remittance: RemittanceParams = Field(default_factory=RemittanceParams)
    escape: EscapeParams = Field(default_factory=EscapeParams)
    deaths: DeathParams = Field(default_factory=DeathParams)
    channels: ChannelParams = Field(default_factory=ChannelParams)
    state: StateParams = Field(default_factory=StateParams)
    recruitment: RecruitmentParams = Field(default_factory=RecruitmentParams)
    sectors: dict[str, Sector] = Field(default_factory=default_sectors)
    policies: list[Policy] = Field(default_factory=list)
    # set by sim.core.sectors.expand on the parameter set the engines run: its hosts are cells (host x sector)
    _cells: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self):
        errors: list[str] = []
        if not self.hosts:
            errors.append("hosts: at least one host group is needed")
        for name, sec in self.sectors.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                errors.append(f"sectors.{shown(name)}: sector names must be lower-case letters, digits and _")
        for name, host in self.hosts.items():
            if host.sectors is None:
                object.__setattr__(host, "sectors", default_mix(name))
            mix = host.sectors or {}
            for s, w in mix.items():
                if s not in self.sectors:
                    errors.append(
                        f"hosts.{shown(name)}.sectors.{shown(s)}: unknown sector{suggest(s, self.sectors)} "
                        f"(sectors: {', '.join(map(shown, self.sectors))})"
                    )
                elif not (0 <= w <= 1e9) or math.isnan(w):
                    errors.append(f"hosts.{shown(name)}.sectors.{shown(s)}: a share must be 0 to 1e9 (got {w})")
            if sum(w for w in mix.values() if w > 0) <= 0 and all(0 <= w for w in mix.values()):
                errors.append(f"hosts.{shown(name)}.sectors: no sector with a share above 0")
        for name in self.hosts:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                errors.append(f"hosts.{shown(name)}: host names must be lower-case letters, digits and _")
        w, m = self.worker, self.minder
        for lo, hi, sec in [
            ("loyalty_min", "loyalty_max", w),
            ("risk_aversion_min", "risk_aversion_max", w),
            ("family_min", "family_max", w),
            ("vigilance_min", "vigilance_max", m),
            ("greed_min", "greed_max", m),
        ]:
            if getattr(sec, lo) > getattr(sec, hi):
                name = "worker" if sec is w else "minder"
                errors.append(f"{name}.{lo}: must not exceed {name}.{hi} ({getattr(sec, lo)} > {getattr(sec, hi)})")
        if self.work.hours_max < self.work.hours_base:
            errors.append(
                f"work.hours_max: must be at least work.hours_base ({self.work.hours_max} < {self.work.hours_base})"
            )
        for name, host in self.hosts.items():
            lo = host.hours_base if host.hours_base is not None else self.work.hours_base
            hi = host.hours_max if host.hours_max is not None else self.work.hours_max
            if hi < lo and (host.hours_base is not None or host.hours_max is not None):
                errors.append(f"hosts.{shown(name)}.hours_max: must be at least its hours_base ({hi} < {lo})")
        for name, sec in self.sectors.items():
            if sec.hours_base is not None and sec.hours_max is not None and sec.hours_max < sec.hours_base:
                errors.append(
                    f"sectors.{shown(name)}.hours_max: must be at least its hours_base ({sec.hours_max} < {sec.hours_base})"
                )
        if self.escape.weight_pay + self.escape.weight_hours + self.escape.weight_debt <= 0:
            errors.append("escape.weight_pay: the three hardship weights must not all be 0")
        for i, p in enumerate(self.policies):
            key = f"policies[{i}]"
            errors += [f"{key}.{line}" for line in p.check_months(self.calendar)]
            for what, chosen, known in (("sector", p.sectors, self.sectors), ("host", p.hosts, self.hosts)):
                if chosen == "all":
                    continue
                if not chosen:
                    errors.append(f'{key}.{what}s: empty list; use "all" or {what} names')
                for x in chosen:
                    if x not in known:
                        errors.append(
                            f"{key}.{what}s: unknown {what} {shown(repr(x))}{suggest(x, known)} ({what}s: {', '.join(map(shown, known))})"
                        )
            for where, levels in [("compliance", p.compliance)] + [
                (f"schedule[{j}].compliance", q.compliance) for j, q in enumerate(p.schedule)
            ]:
                if not isinstance(levels, dict):
                    continue
                covered = self.hosts if p.hosts == "all" else p.hosts
                for h in levels:
                    if h not in self.hosts:
                        errors.append(
                            f"{key}.{where}.{shown(h)}: unknown host{suggest(h, self.hosts)} (hosts: {', '.join(map(shown, self.hosts))})"
                        )
                for h in covered:
                    if h in self.hosts and h not in levels:
                        errors.append(f"{key}.{where}: no level for host {shown(repr(h))}")
        if errors:
            raise ValueError("\n".join(errors))
        return self


# ---------------------------------------------------------------- loading


def parse_value(text: str) -> Any:
    """A --set value: TOML syntax (numbers, true/false, "str", [lists]); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ParamsError(f"{text[:40]}...: nested too deeply") from None


def plain_copy(data: Any) -> Any:
    """A deep copy of plain data (a parsed TOML file: dicts, lists, numbers, strings): through pickle, five to ten
    times faster than `copy.deepcopy` on such data (an experiment plans one parameter set per run); anything pickle
    cannot take is copied by `copy.deepcopy`."""
    try:
        return pickle.loads(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return copy.deepcopy(data)


def apply_overrides(raw: dict, overrides: dict[str, Any], defaults: dict) -> dict:
    """Set dotted keys (``hosts.russia.workers``, ``policies.0.compliance``) in a raw dict."""
    raw = plain_copy(raw)
    for dotted, value in (overrides or {}).items():
        if not isinstance(dotted, str) or not dotted or any(not p for p in dotted.split(".")):
            raise ParamsError(f"{dotted}: not a dotted key such as hosts.russia.workers")
        parts = dotted.split(".")
        if parts[0] not in raw and parts[0] in defaults:
            raw[parts[0]] = plain_copy(defaults[parts[0]])
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ParamsError(f"{dotted}: no entry {where} (there are {len(node)})")
                node = node[int(part)]
            elif isinstance(node, dict):
                if part not in node:
                    if i == 1 and parts[0] == "hosts":
                        _not_a_misspelt_host(dotted, part, node)
                    node[part] = {}
                node = node[part]
            else:
                raise ParamsError(f"{dotted}: {'.'.join(parts[:i])} is a value, not a table")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ParamsError(f"{dotted}: no entry {dotted} (there are {len(node)})")
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ParamsError(f"{dotted}: {'.'.join(parts[:-1])} is a value, not a table")
    return raw


def _not_a_misspelt_host(dotted: str, name: str, hosts: dict) -> None:
    """An override may add a host, but not one named so like an existing host that it reads as a typo
    (``hosts.rusia.workers``: issue 34); a new host's name must differ more (difflib's ratio under 0.8)."""
    hint = suggest(name, hosts, cutoff=0.8)
    if hint:
        raise ParamsError(
            f"{dotted}: no host named {name}{hint}; a new host's name may not be this close to an existing one's"
        )


def defaults_dict() -> dict:
    """The default parameters as a raw dict (a fresh copy: the caller may change it)."""
    return plain_copy(_defaults_dict())


@functools.lru_cache(maxsize=1)
def _defaults_dict() -> dict:
    return Params().model_dump(mode="python")


MAX_HOSTS = 250  # host groups: about one per country at most (the state's shifting compares every pair)
MAX_POLICIES = 500
ROUNDS = 3  # validation rounds: fields, then the checks across fields once the bad fields are set aside


def make_params(raw: dict | None = None, overrides: dict[str, Any] | None = None, prefix: str = "") -> Params:
    """The one way from a raw dict (a parsed TOML file) and dotted overrides to validated `Params`.

    Raises `ParamsError` listing every problem, one line each, after ``prefix``. Problems are
    reported together: fields that fail are set aside (their defaults stand in) and the checks
    across fields run again, up to `ROUNDS` times; a later round's line that names a key set aside
    is dropped, since it would be about a default, not about what the user wrote.
    """
    raw = builtin_values(raw or {})
    if overrides:  # their errors name the override, not a file
        raw = apply_overrides(raw, builtin_values(overrides), defaults_dict())
    raw = with_builtin_sectors(raw)
    too_deep = deeper_than(raw, MAX_DEPTH)
    if too_deep:
        raise ParamsError(f"{prefix}{too_deep}: nested more than {MAX_DEPTH} levels deep")
    hosts = raw.get("hosts")
    if isinstance(hosts, dict) and len(hosts) > MAX_HOSTS:
        raise ParamsError(f"{prefix}hosts: {len(hosts):,} host groups; at most {MAX_HOSTS} (groups of countries)")
    policies = raw.get("policies")
    if isinstance(policies, list) and len(policies) > MAX_POLICIES:
        raise ParamsError(f"{prefix}policies: {len(policies):,} policies; at most {MAX_POLICIES}")
    work = plain_copy(raw)
    lines: list[str] = []
    aside: list[str] = []  # keys of the values set aside
    for line, path in finite_problems(raw):
        lines.append(line)
        aside.append(line.split(":", 1)[0])
        _remove(work, path)
    params = None
    for _ in range(ROUNDS):
        try:
            params = Params.model_validate(work)
            break
        except ValidationError as e:
            new = [line for line in format_validation_error(e, Params) if not _mentions(line, aside)]
            lines += new
            aside += [line.split(":", 1)[0] for line in new]
            if not any(_remove(work, err["loc"]) for err in e.errors()):
                break
    if lines:
        raise ParamsError([prefix + line for line in _hint_hosts(lines, raw)])
    assert params is not None  # a round that failed added at least one line
    return params


def with_builtin_sectors(raw: dict) -> dict:
    """A file's [sectors.x] tables change the built-in sectors field by field and add new ones; the built-in
    sectors it does not name stay (unlike [hosts], which replace the built-in hosts: a host's mix names them)."""
    given = raw.get("sectors")
    if not isinstance(given, dict):
        return raw
    builtin = {name: s.model_dump(mode="python") for name, s in default_sectors().items()}
    merged = dict(builtin)
    for name, fields in given.items():
        merged[name] = {**builtin.get(name, {}), **fields} if isinstance(fields, dict) else fields
    return {**raw, "sectors": merged}


def _mentions(line: str, keys: list[str]) -> bool:
    return any(re.search(rf"(?<![\w.\[]){re.escape(k)}(?![\w])", line) for k in keys if k and k != "(top level)")


def _remove(raw: Any, loc) -> bool:
    """Delete the value at an error's location from a raw dict; pydantic's tags in the location (a union's
    branch, a policy's kind, a validator) are skipped. False if there is no such value (a missing field)."""
    parent: dict | list | None
    node, parent, last = raw, None, None
    for part in loc:
        if isinstance(node, dict) and part in node:
            parent, last, node = node, part, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parent, last, node = node, part, node[part]
        elif is_tag(part) or (isinstance(node, dict) and node.get("kind") == part):
            continue
        else:
            return False
    if parent is None or isinstance(parent, list):
        return False  # the top level, or a whole entry of a list: nothing to set aside
    del parent[last]
    return True


def _hint_hosts(lines: list[str], raw: dict) -> list[str]:
    """A file's [hosts] tables replace the built-in hosts: say so where a built-in host is incomplete."""
    defaults = set(_default_hosts())
    out, hinted = [], False
    for line in lines:
        m = re.match(r"^hosts\.([a-z0-9_]+)\.(workers|wage): required$", line)
        if m and m.group(1) in defaults and not hinted:
            line += (
                f" (a parameter file's [hosts] tables replace the built-in hosts: give each host every required "
                f"field, or change one value with --set hosts.{m.group(1)}.workers=...)"
            )
            hinted = True
        out.append(line)
    return out


MAX_DEPTH = 32


def deeper_than(raw: Any, depth: int, key: str = "") -> str | None:
    """The key of a value nested more than ``depth`` levels down, or None (without recursion)."""
    stack = [(raw, key, 0)]
    while stack:
        node, k, d = stack.pop()
        if d > depth:
            return k or "(top level)"
        if isinstance(node, dict):
            stack += [(v, f"{k}.{kk}" if k else str(kk), d + 1) for kk, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, f"{k}[{i}]", d + 1) for i, v in enumerate(node)]
    return None


def finite_problems(raw: Any) -> list[tuple[str, tuple]]:
    """(line, location) of every NaN or infinity (TOML admits them)."""
    out: list[tuple[str, tuple]] = []
    stack: list[tuple[Any, str, tuple]] = [(raw, "", ())]
    while stack:
        node, key, loc = stack.pop()
        if isinstance(node, dict):
            stack += [(v, f"{key}.{k}" if key else str(k), loc + (k,)) for k, v in reversed(list(node.items()))]
        elif isinstance(node, list):
            stack += [(v, f"{key}[{i}]", loc + (i,)) for i, v in reversed(list(enumerate(node)))]
        elif isinstance(node, float) and not math.isfinite(node):
            out.append((f"{key}: must be a finite number (got {node})", loc))
    return out


def builtin_values(x: Any) -> Any:
    """numpy scalars as Python's (np.int64(5) -> 5, np.float64 -> float, np.bool_ -> bool), in dicts and lists too."""
    if isinstance(x, dict):
        return {k: builtin_values(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [builtin_values(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def read_params_file(path: str | os.PathLike) -> dict:
    """A parameter file's contents, by path or by a shipped file's name (``"history"``, as on the command line);
    `ParamsError` (one line) if it cannot be read."""
    try:
        path = shipped.resolve(path, "params")
    except OlsimError as e:
        raise ParamsError(str(e)) from None
    return read_toml(path, "a parameter file", ParamsError)[1]


def load_params(path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None) -> Params:
    """Load and validate parameters.

    ``path=None`` means the built-in defaults (the baseline); ``overrides``
    maps dotted keys to values, e.g. ``{"hosts.russia.workers": 5000}``.
    Raises `ParamsError` listing every problem, one line each.
    """
    raw = read_params_file(path) if path is not None else {}
    return make_params(raw, overrides, prefix=f"{path}: " if path is not None else "")


def value_at(params: Params, key: str) -> float:
    """The number at a dotted key ("escape.memory", "hosts.china.wage")."""
    obj: Any = params
    for part in key.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return float(obj)


def params_to_dict(params: Params) -> dict:
    """Plain dict of every resolved value (for manifests and TOML)."""
    return params.model_dump(mode="json", exclude_none=True)
